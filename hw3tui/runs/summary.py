"""One line per run: what `hw3tui runs`, `compare` and the TUI's run list show, from each
status.json.

`summarize` is the one place a run's state is decided, so every face gives the same answer: a
folder that holds a run's files (status.json, preset.yaml or events.jsonl) but whose status.json
is missing, unreadable or holds a state no hw3tui writes is `unknown`, with the reason; one
whose engine holds its lock before writing status.json is `starting`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hw3tui.runs.events import Best
from hw3tui.runs.folder import RunDir
from hw3tui.runs.states import RunState
from hw3tui.runs.status import Status, check_status
from hw3tui.untrusted import printable


@dataclass
class RunSummary:
    """One row of `hw3tui runs` and of the TUI's run list."""

    path: Path
    name: str
    preset: str
    state: RunState
    """running | done | failed | cancelled | killed (status says running but no engine holds
    it) | starting (an engine holds it, no status yet) | unknown (status.json unreadable)."""
    live: bool
    started: float | None
    ended: float | None
    epochs_done: int
    epochs: int | None
    best: Best | None
    status: Status = field(default_factory=Status)
    reason: str | None = None
    """Why the run is `unknown` (`status.json missing`); else why it ended, as status.json says
    (`finished 3 epochs`, a failed run's error), escaped (`printable`)."""

    @property
    def duration(self) -> float | None:
        if self.started is None:
            return None
        end = self.ended if self.ended is not None else (time.time() if self.live else None)
        return None if end is None else max(0.0, end - self.started)

    def as_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "name": self.name,
            "preset": self.preset,
            "state": self.state,
            "live": self.live,
            "started": self.started,
            "ended": self.ended,
            "duration": self.duration,
            "epochs_done": self.epochs_done,
            "epochs": self.epochs,
            "best": self.best,
            "reason": self.reason,
        }


def holds_a_run(run: RunDir) -> bool:
    """Whether a folder holds a run's files (whatever state they are in)."""
    files = (run.status_file, run.preset_file, run.events_file)
    return any(os.path.lexists(path) for path in files)


def summarize(run: RunDir) -> RunSummary | None:
    """A run's summary from its status.json (None for a folder that holds no run's files)."""
    if not holds_a_run(run):
        return None
    found, problem = check_status(run.status_file)
    live = run.is_live()
    status = found or Status(state=RunState.UNKNOWN, pid=None)
    state, reason = decide_state(found, problem, live=live)
    return RunSummary(
        path=run.path,
        name=run.name,
        preset=status.preset or run.name,
        state=state,
        live=live,
        started=status.started,
        ended=status.ended,
        epochs_done=status.epochs_done,
        epochs=status.epochs,
        best=status.best,
        status=status,
        reason=reason,
    )


def decide_state(
    status: Status | None, problem: str | None, *, live: bool
) -> tuple[RunState, str | None]:
    """A run's state and its reason (escaped), from what `check_status` found and whether an
    engine holds the run: the one rule `runs`, `compare` and the TUI's screens follow."""
    if status is None:
        if live:
            return RunState.STARTING, None
        return RunState.UNKNOWN, printable(problem or "status.json missing")
    if not status.state.written:
        word = status.state_word
        return RunState.UNKNOWN, printable(f"status.json: state {word!r:.60} is not a run state")
    state = RunState.KILLED if status.state is RunState.RUNNING and not live else status.state
    return state, None if status.reason is None else printable(status.reason)


def list_runs(runs_dir: Path) -> list[RunSummary]:
    """Every run under `runs_dir` (unreadable ones as `unknown`), newest first."""
    if not runs_dir.is_dir():
        return []
    found = [summarize(RunDir(p)) for p in runs_dir.iterdir() if p.is_dir()]
    runs = [r for r in found if r is not None]
    return sorted(runs, key=lambda r: (r.started or 0.0, r.name), reverse=True)
