"""`hw3tui run` and `hw3tui resume`: train headless, with progress on the terminal or in a log.

torch is imported only once a command runs, so `hw3tui --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hw3tui.commands.common import (
    EXIT_BAD_INPUT,
    EXIT_CANCELLED,
    EXIT_OK,
    EXIT_RUN_FAILED,
    BadInput,
    load_or_exit,
    set_option,
)
from hw3tui.runs import DEFAULT_RUNS_DIR, RunDir, find_run

if TYPE_CHECKING:
    from hw3tui.engine.loop import Outcome

EXIT_CODES = {"done": EXIT_OK, "failed": EXIT_RUN_FAILED, "cancelled": EXIT_CANCELLED}


@click.command()
@click.argument("preset")
@set_option
@click.option(
    "--runs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Folder to create the run's folder in (default: ./{DEFAULT_RUNS_DIR}).",
)
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Exact folder for this run (may exist, e.g. with a log.txt, but hold no other run).",
)
def run(
    preset: str, overrides: tuple[str, ...], runs_dir: Path | None, run_dir: Path | None
) -> None:
    """Train PRESET headless (a preset file, or a built-in name such as quickstart).

    Writes runs/<name>-<date>-<time>/ (preset.yaml, events.jsonl, status.json, best/, state/).
    Ctrl-C stops after the current batch and saves what `hw3tui resume` needs.
    Exit codes: 0 done, 1 the run failed, 2 bad input, 130 cancelled.
    """
    if runs_dir is not None and run_dir is not None:
        raise BadInput("give --runs-dir or --run-dir, not both")
    loaded = load_or_exit(preset, overrides)
    from hw3tui.engine import session
    from hw3tui.progress import Printer

    printer = Printer()
    try:
        outcome = session.start_run(
            loaded,
            runs_dir=runs_dir or DEFAULT_RUNS_DIR,
            run_dir=run_dir,
            console=printer,
            note=printer.note,
        )
    except session.BAD_INPUT as exc:
        printer.close()
        raise BadInput(str(exc)) from None
    except KeyboardInterrupt:
        printer.close()
        click.echo("cancelled before training started", err=True)
        sys.exit(EXIT_CANCELLED)
    printer.close()
    _finish(outcome)


@click.command()
@click.argument("run_path", metavar="RUN")
@click.option(
    "--runs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Where to look for RUN given by name (default: ./{DEFAULT_RUNS_DIR}).",
)
def resume(run_path: str, runs_dir: Path | None) -> None:
    """Continue a cancelled, failed or killed run RUN (its folder, or its name under runs/).

    Uses the run's own preset.yaml and the working directory it was started in, appends to its
    events.jsonl, and continues from the last saved epoch (or step, after a Ctrl-C).
    """
    found = find_run(run_path, runs_dir or DEFAULT_RUNS_DIR)
    if found is None:
        raise BadInput(f"{run_path}: no such run (a run folder, or a name under runs/)")
    from hw3tui.engine import session
    from hw3tui.progress import Printer

    printer = Printer()
    try:
        outcome = session.resume_run(RunDir(found.path), console=printer, note=printer.note)
    except session.BAD_INPUT as exc:
        printer.close()
        raise BadInput(str(exc)) from None
    except KeyboardInterrupt:
        printer.close()
        click.echo("cancelled before training started", err=True)
        sys.exit(EXIT_CANCELLED)
    printer.close()
    _finish(outcome)


def _finish(outcome: Outcome) -> None:
    if outcome.detail:
        click.echo(outcome.detail.rstrip(), err=True)
    if outcome.state == "failed":
        click.echo(f"error: {outcome.reason}", err=True)
    code = EXIT_CODES.get(outcome.state, EXIT_RUN_FAILED)
    if code != EXIT_OK:
        sys.exit(code)


__all__ = ["EXIT_BAD_INPUT", "resume", "run"]
