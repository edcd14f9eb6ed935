"""status.json: where a run stands, replaced whole (atomically) at each change of state.

    {"state": "running", "pid": 4242, "started": 1764460800.123, "ended": null, "best": null,
     "preset": "tiny", "backbone": "resnet18", "epochs": 3, "epochs_done": 0, "device": "cpu",
     "cwd": "/home/me/hw3", "argv": ["hw3tui", "run", "tiny.yaml"], "version": "0.1.0",
     "reason": null}

`write_status` is its one writer, `read_status` its one reader. The reader takes any file an
hw3tui wrote (keys it does not know are kept and written back; a value of the wrong type reads as
absent), so a status from an older version still reads. Optional facts that a run does not have
(`processes` of a one-process run, `resumed` of a run never resumed) are left out of the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, cast

from hw3tui.atomic import write_text_atomic
from hw3tui.runs.events import Best, RunState
from hw3tui.runs.numbers import as_float, as_int


@dataclass
class Status:
    """A run's status.json, field by field (the engine updates it as the run goes)."""

    state: str = "running"
    """running | done | failed | cancelled (`RunState`); a reader may meet anything."""
    pid: int | None = None
    """The engine's process (rank 0's, under torchrun)."""
    started: float | None = None
    ended: float | None = None
    best: Best | None = None
    reason: str | None = None
    """Why the run ended (`finished 3 epochs`, the error of a failed run, ...)."""
    preset: str | None = None
    backbone: str | None = None
    epochs: int | None = None
    """Planned epochs (the preset's schedule.epochs)."""
    epochs_done: int = 0
    device: str | None = None
    cwd: str | None = None
    """The working directory the run was started in: its preset's relative paths start here."""
    argv: list[str] | None = None
    version: str | None = None
    """The hw3tui version that started the run."""
    processes: int | None = None
    """Ranks under torchrun (absent for one process): `hw3tui resume` starts as many again."""
    resumed: list[float] = field(default_factory=list)
    """When each `hw3tui resume` started (unix seconds)."""
    resumed_argv: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys this version does not know, kept as they were."""

    def begin(self, pid: int, *, processes: int | None) -> None:
        """The run is (again) in the hands of a running engine."""
        self.state, self.pid, self.ended, self.reason = "running", pid, None, None
        self.processes = processes

    def end(self, state: RunState, ended: float, reason: str) -> None:
        self.state, self.ended, self.reason = state, ended, reason

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Status:
        """A decoded status.json, each value checked (a wrong one reads as absent)."""
        known = {f.name for f in fields(cls)} - {"extra"}
        best = data.get("best")
        return cls(
            state=str(data.get("state", "unknown")),
            pid=as_int(data.get("pid")),
            started=as_float(data.get("started")),
            ended=as_float(data.get("ended")),
            best=cast(Best, best) if isinstance(best, dict) and best else None,
            reason=_text(data.get("reason")),
            preset=_text(data.get("preset")),
            backbone=_text(data.get("backbone")),
            epochs=as_int(data.get("epochs")),
            epochs_done=as_int(data.get("epochs_done")) or 0,
            device=_text(data.get("device")),
            cwd=_text(data.get("cwd")),
            argv=_texts(data.get("argv")),
            version=_text(data.get("version")),
            processes=as_int(data.get("processes")),
            resumed=_numbers(data.get("resumed")),
            resumed_argv=_texts(data.get("resumed_argv")),
            extra={k: v for k, v in data.items() if k not in known},
        )

    def as_json(self) -> dict[str, Any]:
        """The file's content: the fields every status has, then those this run has."""
        data: dict[str, Any] = {
            "state": self.state,
            "pid": self.pid,
            "started": self.started,
            "ended": self.ended,
            "best": self.best,
        }
        optional = {
            "preset": self.preset,
            "backbone": self.backbone,
            "epochs": self.epochs,
            "epochs_done": self.epochs_done,
            "device": self.device,
            "cwd": self.cwd,
            "argv": self.argv,
            "version": self.version,
            "processes": self.processes,
            "resumed": self.resumed or None,
            "resumed_argv": self.resumed_argv,
        }
        data.update({k: v for k, v in optional.items() if v is not None})
        data["reason"] = self.reason
        return {**data, **{k: v for k, v in self.extra.items() if k not in data}}


def write_status(path: Path, status: Status) -> None:
    """Replace status.json atomically: a reader never sees half of it."""
    write_text_atomic(path, json.dumps(status.as_json(), indent=2) + "\n")


def read_status(path: Path) -> Status | None:
    """The status at `path`; None when there is none, or it is not a JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Status.from_json(data) if isinstance(data, dict) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _texts(value: Any) -> list[str] | None:
    if not isinstance(value, list):
        return None
    return [str(item) for item in value]


def _numbers(value: Any) -> list[float]:
    if not isinstance(value, list):
        return []
    return [number for item in value if (number := as_float(item)) is not None]
