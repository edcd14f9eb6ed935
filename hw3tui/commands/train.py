"""`hw3tui run` and `hw3tui resume`: train headless, with progress on the terminal or in a log.

With several processes (`--gpus N`, `runtime.gpus: N`, `--nproc N`; or a resumed run that had
them) the command starts torchrun itself (`hw3tui.engine.distributed.torchrun`), and each rank
runs this same command under it. Under torchrun rank 0 speaks for the run; the other ranks print
only a traceback of their own.

torch is imported only once a command runs, so `hw3tui --help` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from hw3tui import exits
from hw3tui.commands.common import load_or_exit, set_option
from hw3tui.commands.options import runs_dir_option
from hw3tui.errors import BadInput
from hw3tui.runs import DEFAULT_RUNS_DIR, RunDir, resolve_run
from hw3tui.runs.states import RunState
from hw3tui.runs.status import Status
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    from hw3tui.console.progress import Printer
    from hw3tui.engine.training.loop import Outcome
    from hw3tui.preset.models import Runtime


@click.command()
@click.argument("preset")
@set_option
@runs_dir_option("Folder to create the run's folder in")
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Exact folder for this run (may exist, e.g. with a log.txt, but hold no other run).",
)
@click.option(
    "--gpus",
    type=click.IntRange(1, 1024),
    default=None,
    metavar="N",
    help="Train on N GPUs, one process each, under torchrun (sets runtime.gpus).",
)
@click.option(
    "--nproc",
    type=click.IntRange(1, 1024),
    default=None,
    metavar="N",
    help="Train with N processes under torchrun: one GPU each, or N CPU processes (gloo) where "
    "there is no GPU or runtime.device is cpu. Overrides runtime.gpus; not saved in the preset.",
)
def run(
    preset: str,
    overrides: tuple[str, ...],
    runs_dir: Path | None,
    run_dir: Path | None,
    gpus: int | None,
    nproc: int | None,
) -> None:
    """Train PRESET headless (a preset file, or a built-in name such as quickstart).

    Writes runs/<name>-<date>-<time>/ (preset.yaml, events.jsonl, status.json, best/, state/).
    Ctrl-C stops after the current batch and saves what `hw3tui resume` needs.
    Exit codes: 0 done, 1 the run failed, 2 bad input, 130 cancelled.
    """
    if runs_dir is not None and run_dir is not None:
        raise BadInput("give --runs-dir or --run-dir, not both")
    if gpus is not None and nproc is not None:
        raise BadInput("give --gpus or --nproc, not both")
    loaded = load_or_exit(preset, overrides)
    if gpus is not None:
        device = loaded.preset.runtime.device
        if device not in ("auto", "cuda"):
            raise BadInput(
                f"--gpus {gpus}: the preset's runtime.device is {device}; GPUs need auto or cuda "
                f"(--nproc {gpus} trains with {gpus} CPU processes)"
            )
        overrides = (*overrides, f"runtime.gpus={gpus}")  # saved in the run's preset.yaml
        loaded = load_or_exit(preset, overrides)
    from hw3tui.engine.training import session

    name, runs_in = loaded.preset.name, runs_dir or DEFAULT_RUNS_DIR
    _launch_if_several(
        nproc or loaded.preset.runtime.gpus,
        lambda: loaded.preset.runtime,
        lambda: _run_args(preset, overrides, name, runs_dir=runs_in, run_dir=run_dir),
        gpus=nproc is None,
        run_dir=run_dir,
    )
    from hw3tui.console.progress import Printer

    printer = Printer()
    _ended(
        lambda: session.start_run(
            loaded,
            runs_dir=runs_dir or DEFAULT_RUNS_DIR,
            run_dir=run_dir,
            console=printer,
            note=printer.note,
        ),
        printer,
    )


@click.command()
@click.argument("run_path", metavar="RUN")
@set_option
@runs_dir_option("Where to look for RUN given by name")
@click.option(
    "--nproc",
    type=click.IntRange(1, 1024),
    default=None,
    metavar="N",
    help="Continue with N processes under torchrun (default: as many as the run had).",
)
def resume(
    run_path: str, overrides: tuple[str, ...], runs_dir: Path | None, nproc: int | None
) -> None:
    """Continue a cancelled, failed or killed run RUN (its folder, or its name under runs/).

    Uses the run's own preset.yaml and the working directory it was started in, appends to its
    events.jsonl, and continues from the last saved epoch (or step, after a Ctrl-C). A run that
    trained with several processes continues with as many (--nproc to change that).
    --set schedule.KEY=VALUE (schedule keys only) extends a run, a finished one too: e.g.
    --set schedule.epochs=80 trains on to 80 epochs, its preset.yaml rewritten to say so.
    """
    from hw3tui.runs.extension import check_schedule_only

    check_schedule_only(overrides)  # before anything starts: exit 2 naming the key
    found = resolve_run(run_path, runs_dir or DEFAULT_RUNS_DIR)
    from hw3tui.engine.training import session

    status = found.read_status() or Status(state=RunState.UNKNOWN)
    recorded = status.processes
    # a run that cannot be resumed (finished, live, never started) is told so in this process
    finished = status.state == "done" and not overrides
    startable = not finished and not found.is_live() and found.preset_file.is_file()
    if startable:
        _launch_if_several(
            nproc or (recorded if recorded is not None and recorded > 1 else 1),
            lambda: load_or_exit(str(found.preset_file), overrides).preset.runtime,
            lambda: (["resume", str(found.path), *_sets(overrides)], found, False),
            gpus=False,
            run_dir=None,
            hint=f" (`hw3tui resume {run_path} --nproc 1` continues in one process)",
        )
    from hw3tui.console.progress import Printer

    printer = Printer()
    _ended(
        lambda: session.resume_run(
            RunDir(found.path), console=printer, note=printer.note, overrides=overrides
        ),
        printer,
    )


def _ended(start: Callable[[], Outcome], printer: Printer) -> None:
    """Run `start()` (a session entry point) and exit as its run ended."""
    from hw3tui.atomic import DiskFull
    from hw3tui.engine.distributed import world as distributed
    from hw3tui.engine.distributed.rank_errors import ReportedByRankZero

    main = distributed.env_rank() == 0
    try:
        outcome = start()
    except ReportedByRankZero:  # not rank 0: rank 0 says why, and its exit code is the run's
        printer.close()
        sys.exit(exits.OK)
    except DiskFull as exc:  # before training: the run folder could not even be set up
        printer.close()
        if main:
            click.echo(f"error: {exc}", err=True)
        sys.exit(exits.FAILED)
    except BadInput:
        printer.close()
        if not main:  # rank 0 reports it (every rank meets the same bad input)
            sys.exit(exits.BAD_INPUT)
        raise
    except KeyboardInterrupt:
        printer.close()
        if main:
            click.echo("cancelled before training started", err=True)
        sys.exit(exits.CANCELLED)
    printer.close()
    _finish(outcome, main=main)


Launch = tuple[list[str], RunDir, bool]
"""What each rank runs under torchrun: `hw3tui ARGS`, in the run folder, and whether the launcher
made that folder."""


def _launch_if_several(
    processes: int,
    spec: Callable[[], Runtime],
    launch: Callable[[], Launch],
    *,
    gpus: bool,
    run_dir: Path | None,
    hint: str = "",
) -> None:
    """With several processes, when this is not yet one of them: check that this machine can run
    them (bad input, exit 2, naming `hint`), start them under torchrun and exit as the run
    ended. Returns, to train in this process, otherwise (one process, or a rank under torchrun).
    `spec` and `launch` are only called when torchrun starts."""
    from hw3tui.engine.distributed import world as distributed

    if processes <= 1 or distributed.under_torchrun():
        return
    _check_machine(processes, spec(), gpus=gpus, run_dir=run_dir, hint=hint)
    args, run, made = launch()
    _exit_launched(args, processes, run, made=made)


def _run_args(
    preset: str, overrides: Sequence[str], name: str, *, runs_dir: Path, run_dir: Path | None
) -> Launch:
    """`hw3tui run` for every rank, all in one run folder (made now, unless `--run-dir`)."""
    from hw3tui.engine.distributed import torchrun

    try:
        run, made = torchrun.run_folder(runs_dir, run_dir, name)
    except OSError as exc:
        raise BadInput(f"cannot create the run folder in {runs_dir}: {exc}") from None
    return ["run", preset, *_sets(overrides), "--run-dir", str(run.path)], run, made


def _sets(overrides: Sequence[str]) -> list[str]:
    """`--set` arguments again, for the command each rank runs under torchrun."""
    return [arg for override in overrides for arg in ("--set", override)]


def _check_machine(
    processes: int, spec: Runtime, *, gpus: bool, run_dir: Path | None, hint: str = ""
) -> None:
    """Bad input (exit 2) unless this machine can run `processes` ranks; a folder a launcher
    made for the run (the TUI's) records why."""
    from hw3tui.engine.distributed import torchrun
    from hw3tui.runs.ending import record_end

    try:
        torchrun.check_machine(processes, spec, gpus=gpus)
    except BadInput as exc:
        if run_dir is not None and run_dir.is_dir() and not RunDir(run_dir).status_file.exists():
            record_end(RunDir(run_dir), "failed", str(exc))
        raise BadInput(f"{exc}{hint}") from None


def _exit_launched(args: list[str], processes: int, run: RunDir, *, made: bool) -> NoReturn:
    """Run `hw3tui <args>` in `processes` ranks under torchrun; exit as the run ended."""
    from hw3tui.engine.distributed import torchrun

    try:
        code = torchrun.launch(args, processes, run=run, made=made, note=_note)
    except torchrun.LaunchError as exc:
        click.echo(f"error: {printable(exc)}", err=True)
        sys.exit(exits.FAILED)
    sys.exit(code)


def _note(text: str) -> None:
    click.echo(f"hw3tui: {printable(text)}")


def _finish(outcome: Outcome, *, main: bool = True) -> None:
    if outcome.detail:  # a traceback: its lines may quote file and class names
        click.echo("\n".join(map(printable, outcome.detail.rstrip().splitlines())), err=True)
    if outcome.state == "failed" and main:
        click.echo(f"error: {printable(outcome.reason)}", err=True)
    code = exits.of_state(outcome.state)
    if code != exits.OK:
        sys.exit(code)


__all__ = ["resume", "run"]
