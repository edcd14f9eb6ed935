"""The run screen's first line: the run, its state, and what it trains on."""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static

from hw3tui.untrusted import printable

STATE_STYLES = {
    "running": "b $success",
    "starting": "b $warning",
    "stopping": "b $warning",
    "done": "b $success",
    "cancelled": "b $warning",
    "failed": "b $error",
    "killed": "b $error",
    "unknown": "b $warning",
}


class RunHeader(Static):
    """`tiny-20261127-183012  ● running  resnet18 · cpu · 3 classes`."""

    DEFAULT_CSS = """
    RunHeader {
        height: 1;
        background: $boost;
        padding: 0 1;
    }
    """

    def show(self, name: str, state: str, live: bool, detail: str) -> None:
        style = STATE_STYLES.get(state.split()[0] if state else state, "b")
        mark = "● " if live else ""
        # a copied-in run's folder name, a sweep's state: anyone's text
        name, state, detail = printable(name), printable(state), printable(detail)
        self.update(
            f"[b]{escape(name)}[/]  [{style}]{mark}{escape(state)}[/]  [dim]{escape(detail)}[/]"
        )
