"""One run from start to end: check every input, own the run directory, train, record the end.

    start_run(loaded, runs_dir=..., console=printer)   # hw3tui run
    resume_run(run, console=printer)                   # hw3tui resume
    resume_run(run, overrides=["schedule.epochs=80"])  # hw3tui resume --set: extend it

Bad input (data, weights, device, saved state, run directory) raises a `hw3tui.errors.BadInput`
before anything is trained; everything is checked before a run directory is created, so a bad preset
leaves nothing behind (a `--run-dir` that already existed, e.g. made by the TUI, is marked failed
with the reason instead). Once training starts the run always ends with a `run_end` event and a
final status: done, failed (NaN loss, out of memory, a full disk, a crash: with the reason) or
cancelled (SIGINT/SIGTERM, after the current batch, with the state saved for resume). A full disk
("disk full while writing PATH") leaves the previous best/ and state/ as they were; when even the
end cannot be written, the run is left as killed (status running, no engine), which resume takes.

`RunRecorder` is the only place that writes the run directory: under torchrun, the other ranks
get an `Outputs` that does nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Protocol

import torch

import hw3tui
from hw3tui.atomic import DiskFull, clean_leftovers, write_text_atomic
from hw3tui.engine.distributed.process_group import joined
from hw3tui.engine.distributed.world import World, lost_contact, under_torchrun
from hw3tui.engine.hardware.probe import as_started
from hw3tui.engine.training.job import Setup, connect, make_job, prepare
from hw3tui.engine.training.loop import Job, Outcome, Outputs, StopFlag, fit
from hw3tui.engine.training.meter import NonFiniteLoss
from hw3tui.engine.training.recorder import Following, RunDirError, RunRecorder, abandon, claim
from hw3tui.engine.training.state import has_state, load_state
from hw3tui.preset import LoadedPreset, load_preset
from hw3tui.runs import RunDir
from hw3tui.runs.events import EventSink, Images, Note, RunEnd, RunStart, now
from hw3tui.runs.extension import check_schedule_only, extended_text
from hw3tui.runs.status import Status
from hw3tui.signals import handled

# --- the one setup path -----------------------------------------------------------------------


def start_run(
    loaded: LoadedPreset,
    *,
    runs_dir: Path,
    run_dir: Path | None = None,
    console: EventSink | None = None,
    note: Note = lambda _: None,
    argv: list[str] | None = None,
    cwd: Path | None = None,
) -> Outcome:
    """Check everything, create (or claim) the run directory, train. `BadInput` on bad input.

    Under torchrun every rank calls this; rank 0 alone touches the run directory."""
    cwd = cwd or Path.cwd()
    start = _NewRun(loaded, runs_dir=runs_dir, run_dir=run_dir, cwd=cwd, argv=argv)
    return _run(loaded, start, cwd=cwd, console=console, note=note)


def resume_run(
    run: RunDir,
    *,
    console: EventSink | None = None,
    note: Note = lambda _: None,
    argv: list[str] | None = None,
    overrides: Sequence[str] = (),
) -> Outcome:
    """Continue a cancelled, failed or killed run in its own directory, from its saved state.
    `overrides` (schedule.* only) extend it: a finished run goes on too, with the new schedule
    written into its preset.yaml once every input is checked."""
    check_schedule_only(overrides)
    status = _resumable(run, extending=bool(overrides))
    loaded = _as_started(load_preset(run.preset_file, overrides), run)
    extension = _extension(run, status, loaded, overrides) if overrides else None
    cwd = Path(status.cwd or Path.cwd())
    start = _Resumed(run, status, argv=argv, extension=extension)
    return _run(loaded, start, cwd=cwd, console=console, note=note)


def _extension(run: RunDir, status: Status, loaded: LoadedPreset, overrides: Sequence[str]) -> str:
    """The preset text an extended run continues with; `RunDirError` if it leaves nothing to
    train."""
    epochs, done = loaded.preset.schedule.epochs, status.epochs_done or 0
    if epochs <= done:
        raise RunDirError(
            f"{run.path}: schedule.epochs={epochs}, but the run has trained {done} epochs "
            "already; extend it to more"
        )
    before = load_preset(run.preset_file).preset
    return extended_text(loaded.text, before, loaded.preset, when=now())


def _run(
    loaded: LoadedPreset, start: _Start, *, cwd: Path, console: EventSink | None, note: Note
) -> Outcome:
    """Join the ranks; rank 0 takes the run directory while every rank checks its inputs and
    builds its job (one vote at the end: every rank got through, or every rank stops); then
    train, rank 0 recording the run, the others following it."""
    with joined(loaded.preset.runtime) as world, contextlib.ExitStack() as stack:
        try:
            with world.at_setup():
                if world.is_main:
                    start.take(stack)
                # before training, SIGTERM stops like Ctrl-C, so a launcher's cancel during a
                # long decode still records the run as cancelled
                with handled(_interrupt, signal.SIGTERM):
                    setup = prepare(loaded, base_dir=cwd, note=_said_by(world, note), world=world)
                    job = make_job(setup)  # inside the vote: it can run out of memory
                    start.restore(job)
            connect(job)
        except BaseException as exc:
            start.abandon(exc)
            raise
        if not world.is_main:
            return _fit(job, Following(world))
        run, status = start.begin(stack, setup)
        return train(
            job, setup, run, status, console, resumed=start.resumed, extended=start.extended_from
        )


class _Start(Protocol):
    """What differs between starting a run and resuming one: how rank 0 takes the run directory
    and begins its status, and what the job restores."""

    resumed: bool
    extended_from: int | None
    """After `restore`, on an extended run: the epoch it had trained to."""

    def take(self, stack: contextlib.ExitStack) -> None:
        """Rank 0, before setup: hold the run directory (its lock) if it exists already."""

    def restore(self, job: Job) -> None:
        """Every rank, once its job is built: load what the run saved."""

    def abandon(self, exc: BaseException) -> None:
        """Setup failed: leave the run directory taken in `take` as it should stay."""

    def begin(self, stack: contextlib.ExitStack, setup: Setup) -> tuple[RunDir, Status]:
        """Rank 0, once every rank is set up: the run directory (locked) and its status."""


class _NewRun:
    """A new run: in a new directory under `runs_dir`, or in `run_dir` (claimed before setup, so
    a bad preset marks it failed with the reason)."""

    resumed = False
    extended_from: int | None = None

    def __init__(
        self,
        loaded: LoadedPreset,
        *,
        runs_dir: Path,
        run_dir: Path | None,
        cwd: Path,
        argv: list[str] | None,
    ) -> None:
        self.loaded, self.runs_dir, self.run_dir, self.cwd = loaded, runs_dir, run_dir, cwd
        self.argv = list(argv if argv is not None else sys.argv)
        self.claimed: tuple[RunDir, bool] | None = None

    def take(self, stack: contextlib.ExitStack) -> None:
        if self.run_dir is not None:
            self.claimed = claim(self.run_dir, stack)

    def restore(self, job: Job) -> None:
        pass

    def abandon(self, exc: BaseException) -> None:
        if self.claimed is not None:
            abandon(*self.claimed, exc)

    def begin(self, stack: contextlib.ExitStack, setup: Setup) -> tuple[RunDir, Status]:
        preset = self.loaded.preset
        if self.claimed is not None:
            run = self.claimed[0]
        else:  # created only now: a bad preset leaves nothing behind
            run = RunDir.create(self.runs_dir, preset.name)
            stack.enter_context(run.lock())
        write_text_atomic(run.preset_file, self.loaded.text)
        status = Status(
            pid=os.getpid(),
            started=now(),
            preset=preset.name,
            backbone=preset.backbone.name,
            epochs=preset.schedule.epochs,
            device=str(setup.runtime.device),
            cwd=str(self.cwd.resolve()),
            argv=self.argv,
            version=hw3tui.__version__,
            processes=_processes(setup.world),
        )
        return run, status


class _Resumed:
    """A run continued in its own directory, from its saved state."""

    resumed = True

    def __init__(
        self, run: RunDir, status: Status, *, argv: list[str] | None, extension: str | None = None
    ) -> None:
        self.run, self.status = run, status
        self.argv = list(argv if argv is not None else sys.argv)
        self.extension = extension
        """The extended preset's text, written in `begin`; None for a plain resume."""
        self.extended_from: int | None = None

    def take(self, stack: contextlib.ExitStack) -> None:
        run = self.run
        if run.is_live():  # checked again here: under torchrun, only rank 0 checks it
            raise RunDirError(f"{run.path}: still running (pid {self.status.pid}); cancel it first")
        stack.enter_context(run.lock())
        clean_leftovers(run.path)

    def restore(self, job: Job) -> None:
        if has_state(self.run.state_dir):
            load_state(job, self.run.state_dir)
        if self.extension is not None:
            self.extended_from = job.state.epoch
            # an early-stopped run was extended to train on: its patience counts afresh
            job.state.stall_epochs = 0

    def abandon(self, exc: BaseException) -> None:
        pass  # the run stays as it was: resumable once the problem is fixed

    def begin(self, stack: contextlib.ExitStack, setup: Setup) -> tuple[RunDir, Status]:
        status = self.status
        status.begin(os.getpid(), processes=_processes(setup.world))
        status.resumed.append(now())
        status.resumed_argv = self.argv
        if self.extension is not None:  # every rank got through setup: now the preset changes
            write_text_atomic(self.run.preset_file, self.extension)
            status.epochs = setup.preset.schedule.epochs
        return self.run, status


def _resumable(run: RunDir, *, extending: bool = False) -> Status:
    """The run's status, if it can be resumed; `RunDirError` saying why not otherwise."""
    status = run.read_status()
    if status is None:
        raise RunDirError(f"{run.path}: not a run (no status.json)")
    if run.is_live() and not under_torchrun():  # under torchrun, rank 0 checks it in `take`
        raise RunDirError(f"{run.path}: still running (pid {status.pid}); cancel it first")
    if status.state == "done" and not extending:
        raise RunDirError(
            f"{run.path}: already finished; nothing to resume (--set schedule.epochs=N extends it)"
        )
    if not run.preset_file.is_file():
        raise RunDirError(f"{run.path}: never started training (no preset.yaml); use hw3tui run")
    return status


def _as_started(loaded: LoadedPreset, run: RunDir) -> LoadedPreset:
    """The run's preset with `auto` precision and layout as its first start chose them."""
    first = next((e for e in run.events() if e.get("type") == "run_start"), None)
    spec = as_started(loaded.preset.runtime, first.get("runtime") if first else None)
    return dataclasses.replace(loaded, preset=loaded.preset.model_copy(update={"runtime": spec}))


# --- training and its ending ----------------------------------------------------------------


def train(
    job: Job,
    setup: Setup,
    run: RunDir,
    status: Status,
    console: EventSink | None,
    *,
    resumed: bool = False,
    extended: int | None = None,
) -> Outcome:
    """Train `job` in `run`, always ending with run_end and a final status."""
    preset, dataset = setup.preset, setup.dataset
    recorder = RunRecorder(
        run, status, console, preset.checkpoint.chunk_mb, classes=list(dataset.classes)
    )
    run.write_status(status)
    start = _run_start(job, setup, run, resumed=resumed)
    if extended is not None:
        start["extended_from_epoch"] = extended
    recorder.emit(start)
    outcome = _fit(job, recorder)
    end = RunEnd(
        type="run_end", time=now(), state=outcome.state, best=status.best, reason=outcome.reason
    )
    try:
        recorder.emit(end)
    except DiskFull as exc:
        # Even the end did not fit. status.json may still say running; once this process exits
        # (releasing .lock) `hw3tui runs` shows the run as killed, and `hw3tui resume` continues
        # it. The console still hears how it ended.
        if console is not None:
            with contextlib.suppress(OSError):  # its log may sit on the same full disk
                console(end)
        if outcome.state == "done":  # not recorded as done: say why, exit 1
            return Outcome("failed", str(exc))
    return outcome


def _run_start(job: Job, setup: Setup, run: RunDir, *, resumed: bool) -> RunStart:
    """The run_start event: what this start trains, on what, and from where."""
    preset, dataset = setup.preset, setup.dataset
    start = RunStart(
        type="run_start",
        time=now(),
        preset=preset.name,
        device=str(setup.runtime.device),
        num_classes=len(dataset.classes),
        classes=list(dataset.classes),
        run=run.name,
        run_dir=str(run.path),
        epochs=preset.schedule.epochs,
        images=Images(train=len(dataset.train), val=len(dataset.val)),
        cache_mb=dataset.cache_mb,
        data=dataset.description,
        backbone=preset.backbone.name,
        pretrained=str(preset.backbone.pretrained).lower()
        if isinstance(preset.backbone.pretrained, bool)
        else str(preset.backbone.pretrained),
        runtime=setup.runtime.as_json(),
        pid=os.getpid(),
        version=hw3tui.__version__,
    )
    processes = _processes(job.world)
    if processes is not None:
        start["processes"] = processes
    if resumed:
        start["resumed_from_epoch"] = job.state.epoch
        start["resumed_from_step"] = job.state.step
    return start


def _fit(job: Job, outputs: Outputs) -> Outcome:
    """`fit` until it ends, however it ends (a failure names its rank when several train)."""
    stop = StopFlag()
    try:
        with stop_on_signals(stop):
            return fit(job, outputs, stop)
    except (NonFiniteLoss, DiskFull) as exc:
        return Outcome("failed", job.world.failure(exc, str(exc)))
    except KeyboardInterrupt:
        return Outcome("cancelled", "stopped at once (second interrupt); resume continues "
                       "from the last saved epoch")  # fmt: skip
    except Exception as exc:
        reason = job.world.failure(exc, _failure(exc, job))
        # a rank that only lost its peers has no traceback worth showing
        quiet = job.world.size > 1 and lost_contact(exc)
        return Outcome("failed", reason, "" if quiet else traceback.format_exc())


def _said_by(world: World, note: Note) -> Note:
    """Setup messages come from rank 0 alone (every rank does the same setup)."""
    return note if world.is_main else lambda _: None


def _processes(world: World) -> int | None:
    """Recorded in status.json so `hw3tui resume` starts as many processes again."""
    return world.size if world.size > 1 else None


def _failure(exc: BaseException, job: Job) -> str:
    if _out_of_memory(exc):
        size = job.hyper.batch_size if job.hyper is not None else "?"
        return (
            f"out of memory at batch size {size} (epoch {job.state.epoch}, step "
            f"{job.state.step}) on {job.runtime.device}: lower schedule.batch_size or "
            "data.image_size"
        )
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError | MemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text
    )


def stop_on_signals(stop: StopFlag) -> contextlib.AbstractContextManager[None]:
    """SIGINT/SIGTERM ask the loop to stop after its current batch; a second one stops at once."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.requested:
            raise KeyboardInterrupt
        stop.request(signal.Signals(signum).name)

    return handled(handler, signal.SIGINT, signal.SIGTERM)


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM during setup: stop like Ctrl-C (the run ends cancelled before training)."""
    raise KeyboardInterrupt
