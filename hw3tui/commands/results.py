"""`hw3tui eval` and `hw3tui predict`: what a trained model scores, and the file to hand in.

RUN is a run folder (or its name under runs/); CHECKPOINT is a best/ folder, a chunk prefix or a
joined .safetensors file, e.g. one a classmate shared. torch is imported only once a command
runs, after its arguments are checked.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hw3tui.commands.options import runs_dir_option
from hw3tui.errors import BadInput
from hw3tui.runs import DEFAULT_RUNS_DIR, resolve_checkpoint

if TYPE_CHECKING:
    from hw3tui.engine.inference.evaluation import Trained
    from hw3tui.results.eval_report import EvalReport

DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
TARGET_HELP = (
    "RUN|CHECKPOINT: a run folder (or a run's name under ./runs), its best/ folder, a chunk "
    "prefix (NAME.safetensors, for NAME.safetensors.000, ...) or a joined .safetensors file."
)


def _model_options(function: click.decorators.FC) -> click.decorators.FC:
    function = click.option(
        "--device",
        default=None,
        metavar="DEVICE",
        help="auto, cpu, cuda, cuda:N or mps (default: the run's runtime.device; auto).",
    )(function)
    return click.option(
        "--image-size",
        type=click.IntRange(16, 1024),
        default=None,
        help="Side of the images the model sees (default: the run's, or the checkpoint's).",
    )(function)


def _writable(path: Path, option: str) -> None:
    """Refuse an output path before minutes of work are spent, not after."""
    if str(path) == "-":
        return
    if path.is_dir():
        raise BadInput(f"{option} {path}: is a folder; name a file")
    if not path.parent.is_dir():
        raise BadInput(f"{option} {path}: no such folder: {path.parent}")


def _write(path: Path, text: str, option: str) -> None:
    from hw3tui.atomic import write_text_atomic

    if str(path) == "-":
        click.echo(text, nl=False)
        return
    try:
        write_text_atomic(path, text)
    except OSError as exc:
        raise BadInput(f"{option} {path}: cannot write: {exc.strerror or exc}") from None


def _trained(
    target: str, runs_dir: Path | None, image_size: int | None, device: str | None
) -> Trained:
    if device is not None and not DEVICE.match(device):
        raise BadInput(f"--device {device}: expected auto, cpu, cuda, cuda:N or mps")
    found = resolve_checkpoint(target, runs_dir or DEFAULT_RUNS_DIR)
    from hw3tui.engine.inference import evaluation

    return evaluation.load_trained(found, image_size=image_size, device=device)


def _own_val_set(
    target: str,
    runs_dir: Path | None,
    data: Path | None,
    image_size: int | None,
    device: str | None,
) -> EvalReport | None:
    """A run's best checkpoint on its own val set with the run's own options: the evaluation
    `report` and `plot` keep in the run folder (evaluated and kept if there is none yet). None
    for anything else (other data, size or device; a checkpoint named by its files)."""
    if data is not None or image_size is not None or device is not None:
        return None
    found = resolve_checkpoint(target, runs_dir or DEFAULT_RUNS_DIR)
    if found.run is None or found.checkpoint != found.run.path:
        return None
    from hw3tui.commands.evaluated import cached_evaluation

    return cached_evaluation(found.run).report


@click.command(epilog=TARGET_HELP)
@click.argument("target", metavar="RUN|CHECKPOINT")
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=None,
    help="Labelled images to evaluate on, in the run's data format (default: the run's own val "
    "set). Without a run: a folder of class sub-folders, of 3_120.jpg files, or a path,label CSV.",
)
@_model_options
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write per-class results and the confusion matrix to this CSV file ('-': stdout).",
)
@runs_dir_option()
def evaluate(
    target: str,
    data: Path | None,
    image_size: int | None,
    device: str | None,
    as_json: bool,
    csv_file: Path | None,
    runs_dir: Path | None,
) -> None:
    """Accuracy, loss, per-class accuracy and confusion matrix of a trained model.

    By default on the run's own val set, rebuilt exactly as the run built it (same preset, split,
    seed and working directory), so it reproduces the val acc the run recorded.
    Exit codes: 0 done, 2 bad input (path, checkpoint, data, classes that do not match).
    """
    if data is not None and not data.exists():
        raise BadInput(f"--data {data}: no such file or folder")
    if csv_file is not None:
        _writable(csv_file, "--csv")
        if as_json and str(csv_file) == "-":
            raise BadInput("--csv - and --json both write to stdout; give --csv a file")
    report = _own_val_set(target, runs_dir, data, image_size, device)
    if report is None:
        trained = _trained(target, runs_dir, image_size, device)
        from hw3tui.console.results_view import progress_bar
        from hw3tui.engine.inference import evaluation

        with progress_bar("evaluating") as seen:
            report = evaluation.evaluate_checkpoint(trained, data=data, seen=seen)
    from hw3tui.console.results_view import eval_view

    if csv_file is not None:
        _write(csv_file, report.csv_text(), "--csv")
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
        return
    if csv_file is not None and str(csv_file) == "-":
        return
    from rich.console import Console

    Console(highlight=False).print(eval_view(report), soft_wrap=True)
    if csv_file is not None:
        click.echo(f"wrote {csv_file}")


@click.command(epilog=TARGET_HELP)
@click.argument("target", metavar="RUN|CHECKPOINT")
@click.argument("images_dir", metavar="IMAGES_DIR", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=Path("predictions.csv"),
    show_default=True,
    help="CSV file to write ('-': stdout); replaced whole or not at all.",
)
@click.option(
    "--tta",
    type=click.Choice(["none", "flip"]),
    default="none",
    show_default=True,
    help="Test-time augmentation: flip averages the softmax of each image and its mirror image.",
)
@click.option("--id-column", default="Id", show_default=True, help="Name of the id column.")
@click.option(
    "--label-column", default="Category", show_default=True, help="Name of the label column."
)
@click.option(
    "--labels",
    type=click.Choice(["name", "index"]),
    default="name",
    show_default=True,
    help="Write each class's name (Food-11's are 0..10) or its index in the checkpoint.",
)
@_model_options
@runs_dir_option()
def predict(
    target: str,
    images_dir: Path,
    output: Path,
    tta: str,
    id_column: str,
    label_column: str,
    labels: str,
    image_size: int | None,
    device: str | None,
    runs_dir: Path | None,
) -> None:
    """Predict a class for every image in IMAGES_DIR and write one CSV row per image.

    Rows are `Id,Category` by default, Id being the file name without its extension, in natural
    order (2.jpg before 10.jpg). Images are read as the run's val images are (resized, centre
    cropped, normalized). Exit codes: 0 written, 2 bad input (an unreadable image is named).
    """
    if not id_column.strip() or not label_column.strip():
        raise BadInput("--id-column and --label-column need a name")
    if id_column == label_column:
        raise BadInput(f"--id-column and --label-column are both '{id_column}'")
    _writable(output, "-o")
    from hw3tui.engine.inference import prediction

    images = prediction.list_images(images_dir)
    trained = _trained(target, runs_dir, image_size, device)
    from hw3tui.console.results_view import progress_bar

    with progress_bar("predicting") as seen:
        rows = prediction.predict_images(trained, images, tta=tta == "flip", seen=seen)
    text = prediction.predictions_csv(
        rows,
        trained.classes,
        id_column=id_column,
        label_column=label_column,
        labels="index" if labels == "index" else "name",
    )
    _write(output, text, "-o")
    if str(output) != "-":
        shown = "" if tta == "none" else ", flip TTA"
        click.echo(
            f"wrote {output}: {len(rows)} rows ({id_column},{label_column}; "
            f"{trained.info.backbone} epoch {trained.info.epoch}{shown})"
        )
