"""`hw3tui plot`, `augment`, `note` and `report`: the figures and the write-up a student hands in.

matplotlib and torch are imported only once a command runs, after its arguments are checked.
"""

from __future__ import annotations

from pathlib import Path

import click

from hw3tui.commands.common import load_or_exit, set_option
from hw3tui.commands.options import figure_options, figure_size, runs_dir_option
from hw3tui.commands.targets import runs_of, sweeps_of
from hw3tui.errors import BadInput
from hw3tui.preset.models import Preset
from hw3tui.runs import DEFAULT_RUNS_DIR, find_run
from hw3tui.untrusted import printable


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
@figure_options
@click.option(
    "--no-eval", is_flag=True, help="Skip the evaluation figures (confusion, per class, examples)."
)
@runs_dir_option()
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
    preset. A SWEEP folder stands for its trials' runs, and adds DIR/SWEEP/axes/AXIS.FORMAT
    (each run's best value against each axis), importances.FORMAT and importances.csv (Optuna's
    PED-ANOVA hyperparameter importance, or a sentence saying why there is none).

    Each file is replaced whole or not at all. Exit codes: 0 written, 2 bad input.
    """
    size = figure_size(size_text, dpi)
    runs = runs_of(targets, runs_dir)
    _out_folder(out)
    out.mkdir(exist_ok=True)
    from hw3tui.commands.run_figures import draw

    _, drawn, comparison = draw(runs, out, size, fmt, evaluate=not no_eval)
    for figures in drawn:
        for remark in figures.remarks:
            click.echo(f"{click.style(printable(figures.side.name), bold=True)}: {remark}")
        for path in figures.files.values():
            click.echo(f"wrote {printable(path)}")
    if comparison is not None:
        click.echo(f"wrote {printable(comparison)}")
    from hw3tui.commands.sweep_figures import draw_sweep

    for sweep in sweeps_of(targets, runs_dir):
        done = draw_sweep(sweep, out, size, fmt)
        for sentence in done.sentences:
            click.echo(f"{click.style(printable(done.name), bold=True)}: {printable(sentence)}")
        for _, path in done.figures:
            click.echo(f"wrote {printable(path)}")
        if done.table is not None:
            click.echo(f"wrote {printable(done.table)}")


@click.command()
@click.argument("target", metavar="RUN")
@click.argument("text", metavar="TEXT")
@runs_dir_option()
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


def _mixed_classes(preset: Preset) -> int | None:
    """The training set's number of classes, when mixup or cutmix need it in torchvision code
    and the preset does not say it (every source but `shapes`): read from the data's index."""
    mixing = preset.augment.mixup is not None or preset.augment.cutmix is not None
    if not mixing or preset.data.source == "shapes":
        return None
    from hw3tui.engine.data.sources import class_names, index_samples

    train, val = index_samples(preset.data, seed=preset.seed, base_dir=Path.cwd())
    return len(class_names(train, val))


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
@figure_options
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

        code = torchvision_code(loaded.preset, classes=_mixed_classes(loaded.preset))
        click.echo(code, nl=False)
    if output is None:
        return
    size = figure_size(size_text, dpi)
    if output.suffix.lstrip(".") in ("png", "svg", "pdf"):
        fmt = output.suffix.lstrip(".")
    if not output.parent.is_dir():
        raise BadInput(f"-o {output}: no such folder: {output.parent}")
    from hw3tui.engine.inference.augment_preview import augment_preview
    from hw3tui.results.figures import FORMATS, save_figure
    from hw3tui.results.figures_eval import augment_figure

    shown = augment_preview(loaded.preset, base_dir=Path.cwd(), images=images, draws=draws)
    chosen = next(f for f in FORMATS if f == fmt)
    title = f"{loaded.preset.name}: augmentation (first column: original)"
    figure = augment_figure(shown.originals, shown.draws, shown.labels, size, title)
    save_figure(figure, output, size, chosen)
    click.echo(f"wrote {output}", err=torchvision)
