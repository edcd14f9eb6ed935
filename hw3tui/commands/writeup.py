"""`hw3tui plot`, `augment`, `note` and `report`: the figures and the write-up a student hands in.

matplotlib and torch are imported only once a command runs, after its arguments are checked.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hw3tui.commands.common import BadInput, load_or_exit, set_option
from hw3tui.commands.options import folder_option
from hw3tui.runs import DEFAULT_RUNS_DIR, RunDir, find_run
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    from hw3tui.commands.run_figures import RunFigures
    from hw3tui.engine.evaluation import Mistakes
    from hw3tui.results.comparison import RunSide
    from hw3tui.results.eval_report import EvalReport
    from hw3tui.results.figures import Size

SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")

_runs_dir_option = folder_option(
    "--runs-dir", f"Where to look for a RUN given by name (default: ./{DEFAULT_RUNS_DIR})."
)


def _size(text: str, dpi: int) -> Size:
    from hw3tui.results.figures import Size

    match = SIZE.match(text)
    if match is None or not (200 <= int(match[1]) <= 8000 and 150 <= int(match[2]) <= 8000):
        raise BadInput(f"--size {text}: expected WIDTHxHEIGHT in pixels, e.g. 960x600")
    return Size(int(match[1]), int(match[2]), dpi)


def _figure_options(function: click.decorators.FC) -> click.decorators.FC:
    function = click.option(
        "--format",
        "fmt",
        type=click.Choice(["png", "svg", "pdf"]),
        default="png",
        show_default=True,
        help="File format of the figures.",
    )(function)
    function = click.option(
        "--size",
        "size_text",
        default="960x600",
        show_default=True,
        metavar="WxH",
        help="Size of each figure in pixels (at --dpi).",
    )(function)
    return click.option(
        "--dpi", type=click.IntRange(50, 600), default=100, show_default=True, help="Dots per inch."
    )(function)


def _runs(targets: tuple[str, ...], runs_dir: Path | None) -> list[RunDir]:
    where = runs_dir or DEFAULT_RUNS_DIR
    runs: list[RunDir] = []
    for target in targets:
        run = find_run(target, where)
        if run is not None:
            runs.append(run)
            continue
        trials = Path(target) / "runs"
        found = [find_run(p, where) for p in sorted(trials.iterdir())] if trials.is_dir() else []
        sweep = [r for r in found if r is not None]
        if not sweep:
            raise BadInput(f"{target}: no such run or sweep (in {where}/)")
        runs.extend(sweep)
    names = [r.name for r in runs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise BadInput(f"run {repeated[0]} is given twice")
    return runs


def _evaluate(run: RunDir) -> tuple[EvalReport, Mistakes]:
    from hw3tui.checkpoints.format import CheckpointError
    from hw3tui.commands.run_figures import NoCheckpoint
    from hw3tui.console.results_view import progress_bar
    from hw3tui.engine import evaluation
    from hw3tui.runs import NoSuchRun, resolve_checkpoint

    try:
        target = resolve_checkpoint(run.path, run.path.parent)
        trained = evaluation.load_trained(target)
        with progress_bar(f"evaluating {run.name}") as seen:
            return evaluation.evaluate_with_mistakes(trained, seen=seen)
    except CheckpointError as exc:
        if "no best checkpoint" in str(exc):
            raise NoCheckpoint("no best checkpoint") from None
        raise BadInput(f"{run.name}: {exc}") from None
    except evaluation.BAD_INPUT as exc:
        raise BadInput(f"{run.name}: {exc}") from None
    except NoSuchRun as exc:
        raise BadInput(f"{run.name}: {exc}") from None


def _draw(
    runs: list[RunDir], out: Path, size: Size, fmt: str, *, evaluate: bool
) -> tuple[list[RunSide], list[RunFigures], Path | None]:
    """Every run's figures in `out/<run>/`, and the comparison in `out/` for several runs."""
    from hw3tui.commands.run_figures import write_comparison, write_run_figures
    from hw3tui.results.comparison import load_side
    from hw3tui.results.figures import FORMATS

    chosen = next(f for f in FORMATS if f == fmt)
    sides = [load_side(run) for run in runs]
    drawn = [
        write_run_figures(
            side,
            out / side.name,
            size=size,
            fmt=chosen,
            evaluate=_evaluate if evaluate else None,
        )
        for side in sides
    ]
    comparison = None
    if len(sides) > 1:
        comparison = write_comparison(sides, out / f"val_acc.{chosen}", size=size, fmt=chosen)
    return sides, drawn, comparison


def _out_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise BadInput(f"-o {out}: is a file; name a folder")
    if not out.parent.is_dir():
        raise BadInput(f"-o {out}: no such folder: {out.parent}")


@click.command()
@click.argument("targets", nargs=-1, required=True, metavar="RUN|SWEEP...")
@click.option(
    "-o", "--output", "out", type=click.Path(path_type=Path), required=True, help="Folder."
)
@_figure_options
@click.option(
    "--no-eval", is_flag=True, help="Skip the evaluation figures (confusion, per class, examples)."
)
@_runs_dir_option
def plot(
    targets: tuple[str, ...],
    out: Path,
    fmt: str,
    size_text: str,
    dpi: int,
    no_eval: bool,
    runs_dir: Path | None,
) -> None:
    """Figures of runs (or of a SWEEP's trials) into DIR, for a report.

    Per run (in DIR/RUN/): curves, schedules as used, confusion matrix and per-class accuracy
    of the best checkpoint on the val set (the numbers of `hw3tui eval`), misclassified val
    images; for several runs DIR/val_acc.FORMAT, each line labelled by what differs in its
    preset. A SWEEP folder stands for its trials' runs.

    Each file is replaced whole or not at all. Exit codes: 0 written, 2 bad input.
    """
    size = _size(size_text, dpi)
    runs = _runs(targets, runs_dir)
    _out_folder(out)
    out.mkdir(exist_ok=True)
    _, drawn, comparison = _draw(runs, out, size, fmt, evaluate=not no_eval)
    for figures in drawn:
        for remark in figures.remarks:
            click.echo(f"{click.style(printable(figures.side.name), bold=True)}: {remark}")
        for path in figures.files.values():
            click.echo(f"wrote {printable(path)}")
    if comparison is not None:
        click.echo(f"wrote {printable(comparison)}")


@click.command()
@click.argument("target", metavar="RUN")
@click.argument("text", metavar="TEXT")
@_runs_dir_option
def note(target: str, text: str, runs_dir: Path | None) -> None:
    """Append TEXT (why you tried this, what you saw) to the run's notes.md, dated.

    `hw3tui report` quotes the notes under the run's figures.
    """
    if not text.strip():
        raise BadInput("the note is empty")
    run = find_run(target, runs_dir or DEFAULT_RUNS_DIR)
    if run is None:
        raise BadInput(f"{target}: no such run (in {runs_dir or DEFAULT_RUNS_DIR}/)")
    try:
        run.append_note(text)
    except OSError as exc:
        raise BadInput(f"{run.notes_file}: cannot write: {exc.strerror or exc}") from None
    click.echo(f"noted in {printable(run.notes_file)}")


@click.command()
@click.argument("preset", metavar="PRESET")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a grid of training images under several draws of the augmentation (PNG...).",
)
@click.option(
    "--torchvision", is_flag=True, help="Print the equivalent torchvision.transforms.v2 code."
)
@click.option("--images", type=click.IntRange(1, 16), default=4, show_default=True)
@click.option("--draws", type=click.IntRange(1, 12), default=5, show_default=True)
@_figure_options
@set_option
def augment(
    preset: str,
    output: Path | None,
    torchvision: bool,
    images: int,
    draws: int,
    fmt: str,
    size_text: str,
    dpi: int,
    overrides: tuple[str, ...],
) -> None:
    """Show what the preset's augmentation does to training images.

    With -o: a grid of a few training images (the originals, as validation sees them, in the
    first column), each under several draws of the engine's own batched augmentation: what
    you see is what trains. With --torchvision: the same transforms as torchvision code.
    """
    loaded = load_or_exit(preset, overrides)
    if output is None and not torchvision:
        raise BadInput("nothing to do: give -o FILE (a grid of images) and/or --torchvision")
    if torchvision:
        from hw3tui.preset.torchvision_code import torchvision_code

        click.echo(torchvision_code(loaded.preset), nl=False)
    if output is None:
        return
    size = _size(size_text, dpi)
    if output.suffix.lstrip(".") in ("png", "svg", "pdf"):
        fmt = output.suffix.lstrip(".")
    if not output.parent.is_dir():
        raise BadInput(f"-o {output}: no such folder: {output.parent}")
    from hw3tui.engine.augment_preview import augment_preview
    from hw3tui.engine.sources import DataError
    from hw3tui.results.figures import FORMATS, save_figure
    from hw3tui.results.figures_eval import augment_figure

    try:
        shown = augment_preview(loaded.preset, base_dir=Path.cwd(), images=images, draws=draws)
    except DataError as exc:
        raise BadInput(str(exc)) from None
    chosen = next(f for f in FORMATS if f == fmt)
    title = f"{loaded.preset.name}: augmentation (first column: original)"
    figure = augment_figure(shown.originals, shown.draws, shown.labels, size, title)
    save_figure(figure, output, size, chosen)
    click.echo(f"wrote {output}", err=torchvision)
