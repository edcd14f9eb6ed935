"""The last lines of the run's log.txt (the child's own output: warnings, errors).

A log is anyone's text (a copied-in run's log.txt can hold `ESC]0;title BEL` or `ESC[2J`), and
Textual's `Log` writes its lines to the terminal as they are: each line is escaped here, the
widget's one way in.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.widgets import Log

from hw3tui.untrusted import printable

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
        self.write_lines([printable(line) for line in lines])
