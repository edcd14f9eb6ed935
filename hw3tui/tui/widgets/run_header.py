"""The run screen's first line: the run, its state, and what it trains on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from textual.widgets import Static

from hw3tui.untrusted import printable

if TYPE_CHECKING:
    from hw3tui.tui.watch import Shown


class RunHeader(Static):
    """`tiny-20261127-183012  ● running  resnet18 · cpu · 3 classes`."""

    DEFAULT_CSS = """
    RunHeader {
        height: 1;
        background: $boost;
        padding: 0 1;
    }
    """

    def show(self, name: str, state: Shown, detail: str) -> None:
        # the state's tone in the theme's colour of that name (`b $error` for a failed run)
        tone = state.state.tone if state.state is not None else ""
        style = f"b ${tone}" if tone else "b"
        mark = "● " if state.live else ""
        # a copied-in run's folder name, a sweep's state: anyone's text
        name, shown, detail = printable(name), printable(str(state)), printable(detail)
        self.update(
            f"[b]{escape(name)}[/]  [{style}]{mark}{escape(shown)}[/]  [dim]{escape(detail)}[/]"
        )
