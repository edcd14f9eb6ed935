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
engine means the process was killed: such runs show as `killed` and can be resumed
(`hw3tui.runs.summary`). `RunDir.interrupt` stops a live run (SIGINT, as Ctrl-C does). No
torch here: the TUI and `hw3tui runs` import this module.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from hw3tui.atomic import naming_full_disk, write_text_atomic
from hw3tui.errors import RunLocked as RunLocked  # defined with its family
from hw3tui.regular import read_text_regular
from hw3tui.runs.events import Event
from hw3tui.runs.status import Status, read_status, write_status
from hw3tui.runs.tails import EventsRead, read_events
from hw3tui.untrusted import printable

DEFAULT_RUNS_DIR = Path("runs")

NOTES_MAX_BYTES = 16 << 20
"""The most of a notes.md that is read (typed notes are kilobytes)."""


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
            return read_text_regular(self.notes_file, limit=NOTES_MAX_BYTES, errors="replace")
        except FileNotFoundError:
            return ""
        except OSError as exc:  # a FIFO, a folder, a gigabyte: said, never waited on
            return f"(notes.md not read: {exc.strerror})"

    def append_note(self, text: str, when: datetime | None = None) -> None:
        """Add a dated paragraph to notes.md; the whole file is replaced atomically, so a kill
        never leaves half a note. Control characters are stored as escapes (`printable`), line
        by line: a note may span lines (indented, so they stay in its list item)."""
        stamp = (when or datetime.now()).strftime("%Y-%m-%d %H:%M")
        before = self.read_notes()
        gap = "" if not before else ("\n" if before.endswith("\n") else "\n\n")
        lines = "\n  ".join(printable(line.rstrip()) for line in text.strip().splitlines())
        write_text_atomic(self.notes_file, f"{before}{gap}- {stamp}: {lines}\n")

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

    def write_status(self, status: Status) -> None:
        """Replace status.json atomically: a reader never sees half of it."""
        write_status(self.status_file, status)

    def read_status(self) -> Status | None:
        """The run's status; None when it has none (or not a JSON object)."""
        return read_status(self.status_file)

    def append_event(self, record: Event) -> None:
        """Append one event as one line in one write(2), so a tailing reader never sees half.
        `DiskFull` when it does not fit, with nothing of it left in the file."""
        line = (json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n").encode()
        with naming_full_disk(self.events_file):
            fd = os.open(self.events_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                written = os.write(fd, line)
                if written < len(line):  # the disk filled part way: take the half line back
                    os.ftruncate(fd, os.fstat(fd).st_size - written)
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            finally:
                os.close(fd)

    def events(self) -> list[Event]:
        """Every complete event written so far (malformed lines skipped: `read_events`)."""
        return self.read_events().events

    def read_events(self) -> EventsRead:
        """Every complete event written so far, and how many lines were skipped (not JSON, or
        not an event a reader can use), so that a reader can say so."""
        return read_events(self.events_file)

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

    def interrupt(self) -> bool:
        """Ask the engine that holds this run to stop, as Ctrl-C does (SIGINT: it finishes its
        batch, saves its state, writes `cancelled`): the one way anything stops a run. Sent to
        the pid in status.json, and only while an engine holds the run's lock, so a recycled pid
        is never signalled. False when there was no engine to ask."""
        status = self.read_status()
        pid = status.pid if status is not None else None
        if pid is None or pid <= 0 or not self.is_live():
            return False
        try:
            os.kill(pid, signal.SIGINT)
        except (ProcessLookupError, PermissionError):
            return False
        return True

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
