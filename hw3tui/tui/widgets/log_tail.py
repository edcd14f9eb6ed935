"""The last lines of the run's log.txt (the child's own output: warnings, errors)."""

from __future__ import annotations

from collections.abc import Iterable

from textual.widgets import Log

LINES_KEPT = 500


class LogTail(Log):
    """A read-only log view that follows new lines."""

    DEFAULT_CSS = """
    LogTail {
        height: 6;
        overflow-x: hidden;
        border-top: solid $primary 40%;
        color: $text-muted;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(max_lines=LINES_KEPT, auto_scroll=True, id=id)
        self.border_title = "log.txt"

    def add(self, lines: Iterable[str]) -> None:
        self.write_lines(list(lines))
