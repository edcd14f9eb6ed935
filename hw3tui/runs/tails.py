"""Reading what a run appends to its files (events.jsonl, log.txt) as it goes, line by line.

`EventTail` is the one reader of events.jsonl: every face (the TUI, compare, plot, report, eval,
a sweep's leaderboard) gets its events through it, so a line that is not JSON, or not an event
a reader can use (`hw3tui.runs.events.malformed`: NaN, Infinity, a number of the wrong type), is
skipped here once for all of them, and counted so that a face can say so.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from hw3tui.runs.events import Event, malformed


class LineTail:
    """Reads the complete lines appended to a file since the last call.

    A half-written last line waits for the next call; a file replaced by a shorter one is read
    again from its start. `start_near_end` skips all but that many bytes of an existing file (a
    long log's tail), dropping the line it starts in the middle of. Something that is not a
    plain file (a FIFO, a device) reads as no lines: opening it must not block the reader.
    """

    def __init__(self, path: Path, *, start_near_end: int | None = None) -> None:
        self.path = path
        self.offset: int | None = None if start_near_end is not None else 0
        self._start_near_end = start_near_end or 0
        self._partial = b""
        self.restarted = False
        """The last `read_lines` started the file again (it was replaced by a shorter one)."""

    def read_lines(self) -> list[bytes]:
        self.restarted = False
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:  # missing, unreadable, a dangling link: nothing to read yet
            return []
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return []
            size = info.st_size
            skip_first = False
            if self.offset is None:
                self.offset = max(0, size - self._start_near_end)
                skip_first = self.offset > 0
            elif size < self.offset:
                self.offset, self._partial, self.restarted = 0, b"", True
            handle.seek(self.offset)
            chunk = handle.read()
        self.offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        return lines[1:] if skip_first else lines


class EventTail(LineTail):
    """Reads new complete events of an events.jsonl, remembering where it stopped."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.line = 0
        """Lines read so far (a blank one included): the next line's number is one more."""
        self.skipped = 0
        """Lines skipped so far: not JSON, or not an event a reader can use."""
        self.first_skipped: str | None = None
        """The first skipped line and why: `line 5: epoch_start.epoch: inf is not int`."""

    def read(self) -> list[Event]:
        """Events appended since the last call (a half-written last line waits for the next)."""
        lines = self.read_lines()
        if self.restarted:  # a new file: its lines are counted again from the first
            self.line, self.skipped, self.first_skipped = 0, 0, None
        records: list[Event] = []
        for line in lines:
            self.line += 1
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:  # RecursionError too: a line of 100,000 brackets
                problem: str | None = "not JSON"
            else:
                problem = malformed(record)
            if problem is None:
                records.append(record)
                continue
            self.skipped += 1
            if self.first_skipped is None:
                self.first_skipped = f"line {self.line}: {problem}"
        return records

    @property
    def skipped_note(self) -> str | None:
        """`events.jsonl: 2 lines skipped (line 5: ...)`, or None when none was."""
        if not self.skipped:
            return None
        lines = "line" if self.skipped == 1 else "lines"
        return f"{self.path.name}: {self.skipped} {lines} skipped ({self.first_skipped})"


@dataclass(frozen=True)
class EventsRead:
    """A whole events.jsonl as read at once: its events, and the lines skipped."""

    events: list[Event]
    skipped: int
    skipped_note: str | None
    """`events.jsonl: 1 line skipped (line 5: ...)`, None when every line was an event."""


def read_events(path: Path) -> EventsRead:
    """Every complete event in `path`, and what was skipped."""
    tail = EventTail(path)
    events = tail.read()
    return EventsRead(events, tail.skipped, tail.skipped_note)
