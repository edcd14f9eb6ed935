"""The run folder's one writer during a run: events, status, best checkpoint, resumable state.

`RunRecorder` implements the loop's `Outputs`; under torchrun, the other ranks get an `Outputs`
that does nothing. `claim` and `abandon` own a `--run-dir` given before training starts."""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from hw3tui.engine.checkpoint import CheckpointInfo, write_best
from hw3tui.engine.distributed.world import World
from hw3tui.engine.training.loop import (
    Job,
)
from hw3tui.engine.training.state import save_state
from hw3tui.errors import RunDirError as RunDirError  # defined with its family
from hw3tui.runs import RunDir, RunLocked
from hw3tui.runs.ending import record_end
from hw3tui.runs.events import Best, Event, EventSink
from hw3tui.runs.header import stamp_result
from hw3tui.runs.states import RunState
from hw3tui.runs.status import Status


@dataclass
class RunRecorder:
    """The run's side effects: events (to events.jsonl and the console), status.json, the best
    checkpoint and the resumable state. Implements the loop's `Outputs`."""

    run: RunDir
    status: Status
    console: EventSink | None = None
    chunk_mb: float = 45.0
    classes: list[str] = field(default_factory=list)

    def emit(self, record: Event) -> None:
        self.run.append_event(record)
        self._update_status(record)
        if self.console is not None:
            self.console(record)

    def _update_status(self, record: Event) -> None:
        kind, status = record["type"], self.status
        if kind == "run_start":
            status.state, status.ended, status.reason = RunState.RUNNING, None, None
        elif kind == "epoch_end":
            status.epochs_done = record["epoch"] + 1
        elif kind == "checkpoint":
            status.best = Best(
                epoch=record["epoch"],
                metric=record["metric"],
                value=record["value"],
                path=record["path"],
            )
        elif kind == "run_end":
            status.end(record["state"], record["time"], record["reason"])
        else:
            return
        self.run.write_status(self.status)
        if kind == "run_end":  # the frozen preset carries what the run achieved
            stamp_result(self.run)

    def save_best(self, job: Job, epoch: int, value: float) -> str:
        info = CheckpointInfo(
            preset=job.preset.name,
            backbone=job.preset.backbone.name,
            epoch=epoch,
            metric=job.monitor,
            value=value,
            classes=list(self.classes),
            image_size=job.preset.data.image_size,
        )
        path = write_best(job.kept_weights(), self.run.best_dir, info, chunk_mb=self.chunk_mb)
        return str(path.relative_to(self.run.path))

    def save_state(self, job: Job) -> None:
        save_state(job, self.run.state_dir)  # the other ranks wait in the loop's agreement


def claim(run_dir: Path, stack: contextlib.ExitStack) -> tuple[RunDir, bool]:
    """A `--run-dir` to start a run in: new, or empty but for a launcher's log.txt."""
    run = RunDir(run_dir)
    existed = run_dir.exists()
    if existed and not run_dir.is_dir():
        raise RunDirError(f"--run-dir {run_dir}: not a folder")
    if run.status_file.exists() or (run.events_file.exists() and run.events_file.stat().st_size):
        raise RunDirError(
            f"--run-dir {run_dir}: already holds a run; `hw3tui resume {run_dir}` continues it"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        stack.enter_context(run.lock())
    except RunLocked:
        raise RunDirError(f"--run-dir {run_dir}: in use by a running engine") from None
    return run, existed


def abandon(run: RunDir, existed: bool, exc: BaseException) -> None:
    """Setup failed in a `--run-dir`: remove it if we made it, else mark it failed with why."""
    if not existed:
        shutil.rmtree(run.path, ignore_errors=True)
        return
    cancelled = isinstance(exc, KeyboardInterrupt)
    reason = "interrupted before training started" if cancelled else str(exc)
    record_end(run, "cancelled" if cancelled else "failed", reason)


class Following:
    """The run's outputs on a rank other than 0: nothing to write (every rank waits for rank 0's
    saving in the vote that ends each epoch: `World.between_collectives`)."""

    def __init__(self, world: World) -> None:
        self.world = world

    def emit(self, record: Event) -> None:
        pass

    def save_best(self, job: Job, epoch: int, value: float) -> str:
        return ""

    def save_state(self, job: Job) -> None:
        pass
