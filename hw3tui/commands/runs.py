"""`hw3tui runs` and `hw3tui compare`: the runs on disk, and two or more of them side by side.

Both read run directories only (status.json, events.jsonl, preset.yaml), without torch; only
`compare --explain` imports the engine, once its arguments are checked, to evaluate checkpoints.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

from hw3tui.commands.options import runs_dir_option
from hw3tui.commands.targets import runs_of
from hw3tui.errors import BadInput
from hw3tui.runs import DEFAULT_RUNS_DIR, RunDir, list_runs

METRICS = ("val_acc", "val_loss", "train_acc", "train_loss")


def _runs_dir(runs_dir: Path | None) -> Path:
    if runs_dir is not None and not runs_dir.is_dir():
        raise BadInput(f"--runs-dir {runs_dir}: no such folder")
    return runs_dir or DEFAULT_RUNS_DIR


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the runs as a JSON list.")
@runs_dir_option("Folder of runs")
def runs(as_json: bool, runs_dir: Path | None) -> None:
    """List runs, newest first: state, best val acc, epochs, duration, start time.

    State `killed` is a run that stopped without a word; best val acc comes with its epoch, and
    epochs are those done of those planned.
    """
    folder = _runs_dir(runs_dir)
    summaries = list_runs(folder)
    if as_json:
        click.echo(json.dumps([s.as_json() for s in summaries], indent=2))
        return
    if not summaries:
        click.echo(f"no runs in {folder}/ yet (hw3tui run PRESET starts one)")
        return
    from rich.console import Console

    from hw3tui.console.results_view import runs_table

    Console(highlight=False).print(runs_table(summaries))


@click.command()
@click.argument("run_paths", metavar="RUN|SWEEP [RUN|SWEEP...]", nargs=-1, required=True)
@click.option(
    "--metric",
    type=click.Choice(METRICS),
    default="val_acc",
    show_default=True,
    help="The per-epoch metric to draw.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option(
    "--explain",
    is_flag=True,
    help="Why B beat A (two runs on the same val set): preset changes, val acc per epoch, "
    "per-class changes and the val images that flipped, evaluated at both best checkpoints.",
)
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With --explain: folder for the figure of flipped images (default: the current one).",
)
@runs_dir_option("Where to look for runs given by name")
def compare(
    run_paths: tuple[str, ...],
    metric: str,
    as_json: bool,
    explain: bool,
    out: Path | None,
    runs_dir: Path | None,
) -> None:
    """Runs side by side: best metrics, differing preset fields, curves, verdicts.

    Each RUN is a run folder or a run's name under ./runs; a SWEEP folder stands for its trials'
    runs. Runs whose presets are equal but for `seed` and `name` are one configuration; the first
    run's configuration is the reference the others get their verdict against (mean best
    `checkpoint.monitor` over seeds, 95 % interval, better / worse / within noise / one seed).

    --explain (two runs validated on the same images, else exit 2): both best checkpoints are
    evaluated on that val set and compared class by class and image by image; the flipped images
    are drawn into `flips_A_vs_B.png` (in -o DIR).
    """
    found: list[RunDir] = []
    for name in run_paths:
        for run in runs_of((name,), runs_dir):  # two sweeps' trials may share their names
            if any(run.path.samefile(other.path) for other in found):
                raise BadInput(f"{name}: given twice")
            found.append(run)
    if len(found) < 2:
        raise BadInput("compare needs two runs or more (see hw3tui runs)")
    if out is not None and not explain:
        raise BadInput("-o is the folder of --explain's figure: give --explain too")
    if explain:
        if len(found) != 2:
            raise BadInput(f"--explain compares two runs (A, then B); {len(found)} given")
        _explain(found[0], found[1], out or Path(), as_json=as_json)
        return
    from hw3tui.results.comparison import compare_runs

    comparison = compare_runs(found)
    if as_json:
        click.echo(json.dumps(comparison.as_json(metric), indent=2))
        return
    from rich.console import Console

    from hw3tui.console.results_view import comparison_view

    console = Console(highlight=False)
    color = console.is_terminal and not console.no_color
    console.print(
        comparison_view(comparison, metric=metric, plot_width=min(console.width, 100), color=color)
    )


def _explain(a: RunDir, b: RunDir, out: Path, *, as_json: bool) -> None:
    """`compare A B --explain`: evaluate both, check their val set, print, draw the flips."""
    from hw3tui.commands.explain_pair import draw_flips, evaluate_run, explain_pair
    from hw3tui.results.comparison import load_side
    from hw3tui.results.figures import Size
    from hw3tui.untrusted import printable

    if out.exists() and not out.is_dir():
        raise BadInput(f"-o {printable(out)}: not a folder")
    sides = (load_side(a), load_side(b))
    explanation = explain_pair(sides, (evaluate_run(a), evaluate_run(b)))
    try:
        out.mkdir(parents=True, exist_ok=True)
        name = f"flips_{_file_part(a.name)}_vs_{_file_part(b.name)}.png"
        figure = draw_flips(explanation, (a, b), out / name, size=Size(), fmt="png")
    except OSError as exc:
        raise BadInput(f"-o {printable(out)}: cannot write: {exc.strerror or exc}") from None
    if as_json:
        click.echo(json.dumps(explanation.as_json(str(figure)), indent=2))
        return
    for line in explanation.lines(str(figure)):
        click.echo(line)


def _file_part(name: str) -> str:
    """A run's name as part of a file name: other characters (a control character, a space)
    become `-`."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "run"
