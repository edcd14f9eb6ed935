"""Incremental reading of a run directory, for a worker thread: new events, new log lines, status.

Each `poll` reads only what was appended since the previous one, so a long run's files cost the
UI nothing more than their new lines.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hw3tui.engine.events import Event
from hw3tui.runs import EventTail, RunDir

LOG_LINES_KEPT = 500
"""Log lines kept for the log tail (an old run's megabytes of log are not all read)."""

_LOG_START_BYTES = 64 * 1024
"""A log tail starts this far from the end of an existing log."""


class LineTail:
    """Reads new complete lines of a text file, starting near its end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset: int | None = None
        self._partial = b""

    def read(self) -> list[str]:
        try:
            with self.path.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if self.offset is None:
                    self.offset = max(0, size - _LOG_START_BYTES)
                    skip_first = self.offset > 0  # started mid-line
                else:
                    skip_first = False
                if size < self.offset:
                    self.offset, self._partial = 0, b""
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        self.offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        if skip_first and lines:
            lines.pop(0)
        # progress bars of other tools end lines with \r: keep what the line finally shows
        return [
            line.decode("utf-8", "replace").rsplit("\r", 1)[-1] for line in lines[-LOG_LINES_KEPT:]
        ]


@dataclass
class FeedUpdate:
    """What changed in a run since the last poll."""

    events: list[Event] = field(default_factory=list)
    log_lines: list[str] = field(default_factory=list)
    status: dict[str, Any] | None = None
    live: bool = False

    def __bool__(self) -> bool:
        return bool(self.events or self.log_lines or self.status is not None)


class RunFeed:
    """The incremental reader of one run directory."""

    def __init__(self, run: RunDir) -> None:
        self.run = run
        self.events = EventTail(run.events_file)
        self.log = LineTail(run.log_file)
        self._status: dict[str, Any] | None = None
        self._live: bool | None = None

    def poll(self) -> FeedUpdate:
        """New events and log lines; the status (and liveness) only when they changed."""
        update = FeedUpdate(events=self.events.read(), log_lines=self.log.read())
        status = self.run.read_status()
        live = self.run.is_live()
        update.live = live
        if status != self._status or live != self._live:
            self._status, self._live = status, live
            update.status = status if status is not None else {}
        return update
