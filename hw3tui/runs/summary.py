"""One line per run: what `hw3tui runs` and the TUI's run list show, from each status.json."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hw3tui.runs.events import Best
from hw3tui.runs.folder import RunDir
from hw3tui.runs.status import Status


@dataclass
class RunSummary:
    """One row of `hw3tui runs` and of the TUI's run list."""

    path: Path
    name: str
    preset: str
    state: str
    """running | done | failed | cancelled | killed (status says running but no engine holds it)."""
    live: bool
    started: float | None
    ended: float | None
    epochs_done: int
    epochs: int | None
    best: Best | None
    status: Status = field(default_factory=Status)

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
        }


def summarize(run: RunDir) -> RunSummary | None:
    """A run's summary from its status.json (None for a folder that is not a run)."""
    status = run.read_status()
    if status is None:
        return None
    live = run.is_live()
    state = "killed" if status.state == "running" and not live else status.state
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
    )


def list_runs(runs_dir: Path) -> list[RunSummary]:
    """Every run under `runs_dir`, newest first."""
    if not runs_dir.is_dir():
        return []
    found = [summarize(RunDir(p)) for p in runs_dir.iterdir() if p.is_dir()]
    runs = [r for r in found if r is not None]
    return sorted(runs, key=lambda r: (r.started or 0.0, r.name), reverse=True)
