"""Incremental reading of a run directory, for a worker thread: new events, new log lines, status.

Each `poll` reads only what was appended since the previous one, so a long run's files cost the
UI nothing more than their new lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hw3tui.runs import EventTail, LineTail, RunDir
from hw3tui.runs.events import Event
from hw3tui.runs.status import Status, check_status

LOG_LINES_KEPT = 500
"""Log lines kept for the log tail (an old run's megabytes of log are not all read)."""

_LOG_START_BYTES = 64 * 1024
"""A log tail starts this far from the end of an existing log."""


class LogTail(LineTail):
    """New lines of a run's log.txt, starting near the end of a long one."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, start_near_end=_LOG_START_BYTES)

    def read(self) -> list[str]:
        # progress bars of other tools end lines with \r: keep what the line finally shows
        return [
            line.decode("utf-8", "replace").rsplit("\r", 1)[-1]
            for line in self.read_lines()[-LOG_LINES_KEPT:]
        ]


@dataclass
class FeedUpdate:
    """What changed in a run since the last poll."""

    events: list[Event] = field(default_factory=list)
    log_lines: list[str] = field(default_factory=list)
    status: Status | None = None
    status_problem: str | None = None
    """Why there is no status (`status.json missing`, `... is not valid JSON`)."""
    status_changed: bool = False
    """The status (None: the run has none) or its liveness changed since the last poll."""
    live: bool = False
    skipped: int = 0
    """Lines of events.jsonl skipped so far (not JSON, or not an event: NaN, a wrong type)."""
    skipped_changed: bool = False

    def __bool__(self) -> bool:
        return bool(self.events or self.log_lines or self.status_changed or self.skipped_changed)


class RunFeed:
    """The incremental reader of one run directory."""

    def __init__(self, run: RunDir) -> None:
        self.run = run
        self.events = EventTail(run.events_file)
        self.log = LogTail(run.log_file)
        self._status: Status | None = None
        self._live: bool | None = None
        self._problem: str | None = None

    def poll(self) -> FeedUpdate:
        """New events and log lines; the status (and liveness) only when they changed."""
        skipped = self.events.skipped
        update = FeedUpdate(events=self.events.read(), log_lines=self.log.read())
        update.skipped = self.events.skipped
        update.skipped_changed = update.skipped != skipped
        status, problem = check_status(self.run.status_file)
        live = self.run.is_live()
        update.live = live
        if status != self._status or live != self._live or problem != self._problem:
            self._status, self._live, self._problem = status, live, problem
            update.status, update.status_changed = status, True
            update.status_problem = problem
        return update
