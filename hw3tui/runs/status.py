"""status.json: where a run stands, replaced whole (atomically) at each change of state.

    {"state": "running", "pid": 4242, "started": 1764460800.123, "ended": null, "best": null,
     "preset": "tiny", "backbone": "resnet18", "epochs": 3, "epochs_done": 0, "device": "cpu",
     "cwd": "/home/me/hw3", "argv": ["hw3tui", "run", "tiny.yaml"], "version": "0.1.0",
     "reason": null}

`write_status` is its one writer, `check_status` its one reader (`read_status` when the reason
does not matter), and `hw3tui.runs.summary` the one place that turns what it found into a
state: a status.json that is missing or unreadable makes a run `unknown`, with the reason,
in `runs`, `runs --json`, `compare` and the TUI alike. The reader takes any file an
hw3tui wrote (keys it does not know are kept and written back; a value of the wrong type reads as
absent), so a status from an older version still reads. Optional facts that a run does not have
(`processes` of a one-process run, `resumed` of a run never resumed) are left out of the file.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, cast

from hw3tui.atomic import write_text_atomic
from hw3tui.runs.events import Best, EndState
from hw3tui.runs.numbers import as_float, as_int
from hw3tui.runs.states import RunState, parse_state


@dataclass
class Status:
    """A run's status.json, field by field (the engine updates it as the run goes)."""

    state: RunState = RunState.RUNNING
    """running | done | failed | cancelled as the engine writes it; any other word in the file
    reads as `unknown`, the word itself kept in `foreign_state`. A `str` given here is taken
    as a state's word (`Status(state="done")`)."""
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
    foreign_state: str | None = None
    """The file's `state` when it names none of the states the engine writes (another
    version's word, `killed`, anything): a reader says which, a writer writes it back as it was."""

    def __post_init__(self) -> None:
        word = str(self.state)
        known = parse_state(word)
        if known is not None and known.written:
            self.state, self.foreign_state = known, None
            return
        if known is not RunState.UNKNOWN or self.foreign_state is None:  # else: a copy's
            self.foreign_state = word
        self.state = RunState.UNKNOWN

    @property
    def state_word(self) -> str:
        """The state as the file says it (`foreign_state` for a word no engine writes)."""
        if self.state is RunState.UNKNOWN and self.foreign_state is not None:
            return self.foreign_state
        return self.state.value

    def begin(self, pid: int, *, processes: int | None) -> None:
        """The run is (again) in the hands of a running engine."""
        self.state, self.pid, self.ended, self.reason = RunState.RUNNING, pid, None, None
        self.processes, self.foreign_state = processes, None

    def end(self, state: EndState, ended: float, reason: str) -> None:
        self.state, self.ended, self.reason = RunState(state), ended, reason
        self.foreign_state = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Status:
        """A decoded status.json, each value checked (a wrong one reads as absent)."""
        known = {f.name for f in fields(cls)} - {"extra", "foreign_state"}
        return cls(
            state=str(data.get("state", "unknown")),  # type: ignore[arg-type]  # __post_init__
            pid=as_int(data.get("pid")),
            started=as_float(data.get("started")),
            ended=as_float(data.get("ended")),
            best=_best(data.get("best")),
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
            "state": self.state_word,
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


STATUS_MAX_BYTES = 1 << 20
"""A status.json is a few hundred bytes: one above this is not read (a reader must not swallow
a gigabyte someone put there)."""


def check_status(path: Path) -> tuple[Status | None, str | None]:
    """The status at `path`, or None and why not: `status.json missing`, `... is not valid
    JSON`, `... is not a JSON object`, `... is not a file`, `... is too large`, `... unreadable`.
    A FIFO or a device is never opened for reading (it would block or never end)."""
    name = path.name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return None, f"{name} missing"
    except OSError as exc:
        return None, f"{name} unreadable ({exc.strerror})"
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, f"{name} is not a file"
        if info.st_size > STATUS_MAX_BYTES:
            return None, f"{name} is too large ({info.st_size} bytes)"
        try:
            raw = handle.read(STATUS_MAX_BYTES + 1)
        except OSError as exc:
            return None, f"{name} unreadable ({exc.strerror})"
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None, f"{name} is not valid JSON"
    if not isinstance(data, dict):
        return None, f"{name} is not a JSON object"
    return Status.from_json(data), None


def read_status(path: Path) -> Status | None:
    """The status at `path`; None when there is none, or it is not a JSON object."""
    return check_status(path)[0]


def _best(value: Any) -> Best | None:
    """A best checkpoint whose epoch and value, when given, are numbers (not NaN, Infinity)."""
    if not isinstance(value, dict) or not value:
        return None
    if "value" in value and as_float(value["value"]) is None:
        return None
    if "epoch" in value and as_int(value["epoch"]) is None:
        return None
    return cast(Best, value)


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
