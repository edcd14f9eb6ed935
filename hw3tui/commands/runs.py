"""`hw3tui runs` and `hw3tui compare`: the runs on disk, and two or more of them side by side.

No torch: both read run directories only (status.json, events.jsonl, preset.yaml).
"""

from __future__ import annotations

import json
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
@runs_dir_option("Where to look for runs given by name")
def compare(run_paths: tuple[str, ...], metric: str, as_json: bool, runs_dir: Path | None) -> None:
    """Runs side by side: best metrics, differing preset fields, curves, verdicts.

    Each RUN is a run folder or a run's name under ./runs; a SWEEP folder stands for its trials'
    runs. Runs whose presets are equal but for `seed` and `name` are one configuration; the first
    run's configuration is the reference the others get their verdict against (mean best
    `checkpoint.monitor` over seeds, 95 % interval, better / worse / within noise / one seed).
    """
    found: list[RunDir] = []
    for name in run_paths:
        for run in runs_of((name,), runs_dir):  # two sweeps' trials may share their names
            if any(run.path.samefile(other.path) for other in found):
                raise BadInput(f"{name}: given twice")
            found.append(run)
    if len(found) < 2:
        raise BadInput("compare needs two runs or more (see hw3tui runs)")
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
