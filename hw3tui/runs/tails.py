"""Reading what a run appends to its files (events.jsonl, log.txt) as it goes, line by line."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hw3tui.runs.events import Event, is_event


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
