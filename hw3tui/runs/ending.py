"""Ending a run from outside its engine: the run_end event and final status that the engine
would have written, for a run whose engine could not (setup failed; under torchrun, rank 0 was
killed first). Torch-free: the launcher and the CLI end runs without importing the engine."""

from __future__ import annotations

import contextlib
import os

import hw3tui
from hw3tui.runs.events import EndState, RunEnd, now
from hw3tui.runs.folder import RunDir
from hw3tui.runs.header import stamp_result
from hw3tui.runs.status import Status


def record_end(run: RunDir, state: EndState, reason: str) -> None:
    """End a run whose engine could not end it itself (setup failed; under torchrun, rank 0 was
    killed first): a `run_end` event and a final status, keeping what status.json knew."""
    ended = now()
    status = run.read_status() or Status(pid=os.getpid(), started=ended, version=hw3tui.__version__)
    status.end(state, ended, reason)
    end = RunEnd(type="run_end", time=ended, state=state, best=status.best, reason=reason)
    with contextlib.suppress(OSError):
        run.append_event(end)
        run.write_status(status)
        stamp_result(run)
