"""Run directories: the contract between a running engine and whoever watches it.

    runs/<preset-name>-<YYYYmmdd-HHMMSS>/
      preset.yaml     the preset exactly as run (overrides applied)
      events.jsonl    one JSON event a line, appended and flushed per event
      status.json     replaced atomically: state, pid, started, ended, best (+ epoch, epochs, ...)
      best/           <backbone>_best.safetensors.NNN chunks and SHA256SUMS
      state/          resumable training state
      log.txt         the process's output when launched detached
      notes.md        the student's notes on the run (`hw3tui note`), quoted by `hw3tui report`
      .lock           held (flock) by the engine while it runs

A run is *live* while its engine holds `.lock`. A status that says `running` without a live
engine means the process was killed: such runs show as `killed` and can be resumed.
No torch here: the TUI and `hw3tui runs` import this module.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hw3tui.atomic import write_text_atomic
from hw3tui.runs.events import Event, is_event

DEFAULT_RUNS_DIR = Path("runs")


class RunLocked(Exception):
    """The run directory is in use by a live engine."""


@dataclass
class RunDir:
    """Paths and atomic writes of one run directory."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def preset_file(self) -> Path:
        return self.path / "preset.yaml"

    @property
    def events_file(self) -> Path:
        return self.path / "events.jsonl"

    @property
    def status_file(self) -> Path:
        return self.path / "status.json"

    @property
    def best_dir(self) -> Path:
        return self.path / "best"

    @property
    def state_dir(self) -> Path:
        return self.path / "state"

    @property
    def log_file(self) -> Path:
        return self.path / "log.txt"

    @property
    def lock_file(self) -> Path:
        return self.path / ".lock"

    @property
    def notes_file(self) -> Path:
        return self.path / "notes.md"

    def read_notes(self) -> str:
        """The run's notes.md ("" when there is none)."""
        try:
            return self.notes_file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def append_note(self, text: str, when: datetime | None = None) -> None:
        """Add a dated paragraph to notes.md; the whole file is replaced atomically, so a kill
        never leaves half a note."""
        stamp = (when or datetime.now()).strftime("%Y-%m-%d %H:%M")
        before = self.read_notes()
        gap = "" if not before else ("\n" if before.endswith("\n") else "\n\n")
        write_text_atomic(self.notes_file, f"{before}{gap}- {stamp}: {text.strip()}\n")

    @classmethod
    def create(cls, runs_dir: Path, preset_name: str, now: datetime | None = None) -> RunDir:
        """A new, empty run directory `<runs_dir>/<preset_name>-<YYYYmmdd-HHMMSS>[-N]`."""
        stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
        runs_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, 1000):
            suffix = "" if attempt == 1 else f"-{attempt}"
            path = runs_dir / f"{preset_name}-{stamp}{suffix}"
            try:
                path.mkdir()
            except FileExistsError:
                continue
            return cls(path)
        raise FileExistsError(f"no free run directory name for {preset_name} in {runs_dir}")

    def write_status(self, status: dict[str, Any]) -> None:
        """Replace status.json atomically: a reader never sees half of it."""
        write_text_atomic(self.status_file, json.dumps(status, indent=2) + "\n")

    def read_status(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.status_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def append_event(self, record: Event) -> None:
        """Append one event as one line in one write(2), so a tailing reader never sees half."""
        line = (json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n").encode()
        fd = os.open(self.events_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def events(self) -> list[Event]:
        """Every complete event written so far."""
        return EventTail(self.events_file).read()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run for the life of an engine; `RunLocked` if another engine holds it."""
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunLocked(f"{self.path} is in use by a running engine") from None
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield
        finally:
            os.close(fd)

    def is_live(self) -> bool:
        """Whether an engine holds this run right now."""
        if not self.lock_file.exists():
            return False
        try:
            fd = os.open(self.lock_file, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False


class LineTail:
    """Reads the complete lines appended to a file since the last call.

    A half-written last line waits for the next call; a file replaced by a shorter one is read
    again from its start. `start_near_end` skips all but that many bytes of an existing file (a
    long log's tail), dropping the line it starts in the middle of.
    """

    def __init__(self, path: Path, *, start_near_end: int | None = None) -> None:
        self.path = path
        self.offset: int | None = None if start_near_end is not None else 0
        self._start_near_end = start_near_end or 0
        self._partial = b""

    def read_lines(self) -> list[bytes]:
        try:
            with self.path.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                skip_first = False
                if self.offset is None:
                    self.offset = max(0, size - self._start_near_end)
                    skip_first = self.offset > 0
                elif size < self.offset:
                    self.offset, self._partial = 0, b""
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        self.offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        return lines[1:] if skip_first else lines


class EventTail(LineTail):
    """Reads new complete events of an events.jsonl, remembering where it stopped."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)

    def read(self) -> list[Event]:
        """Events appended since the last call (a half-written last line waits for the next)."""
        records: list[Event] = []
        for line in self.read_lines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if is_event(record):
                records.append(record)
        return records


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
    best: dict[str, Any] | None
    extra: dict[str, Any] = field(default_factory=dict)

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
    state = str(status.get("state", "unknown"))
    if state == "running" and not live:
        state = "killed"
    return RunSummary(
        path=run.path,
        name=run.name,
        preset=str(status.get("preset", run.name)),
        state=state,
        live=live,
        started=_number(status.get("started")),
        ended=_number(status.get("ended")),
        epochs_done=int(status.get("epochs_done", 0) or 0),
        epochs=_int_or_none(status.get("epochs")),
        best=status.get("best") if isinstance(status.get("best"), dict) else None,
        extra=status,
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def list_runs(runs_dir: Path) -> list[RunSummary]:
    """Every run under `runs_dir`, newest first."""
    if not runs_dir.is_dir():
        return []
    found = [summarize(RunDir(p)) for p in runs_dir.iterdir() if p.is_dir()]
    runs = [r for r in found if r is not None]
    return sorted(runs, key=lambda r: (r.started or 0.0, r.name), reverse=True)


def find_run(name_or_path: str | Path, runs_dir: Path = DEFAULT_RUNS_DIR) -> RunDir | None:
    """A run by path, or by its folder name under `runs_dir`."""
    for candidate in (Path(name_or_path), runs_dir / str(name_or_path)):
        if (candidate / "status.json").is_file() or (candidate / "preset.yaml").is_file():
            return RunDir(candidate)
    return None


def hw3tui_command() -> list[str]:
    """How to start hw3tui itself as a child process (the same Python, the same install)."""
    return [sys.executable, "-m", "hw3tui"]


def launch_detached(
    args: Sequence[str], run: RunDir, *, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start `hw3tui <args>` in its own process session, output to the run's log.txt.

    The child outlives the terminal and the TUI (new session: no SIGHUP from a dropped SSH
    connection), and never writes to the TUI's screen.
    """
    run.path.mkdir(parents=True, exist_ok=True)
    with run.log_file.open("ab") as log:
        return subprocess.Popen(
            [*hw3tui_command(), *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "HW3TUI_DETACHED": "1"},
        )
