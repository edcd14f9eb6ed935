"""Ask for a file path (save as, open a preset): checked before the dialog closes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Static

from hw3tui.tui.screens.dialog import Dialog

PathCheck = Callable[[Path], str | None]
"""Returns why a path cannot be used, or None when it can."""


class PathPrompt(Dialog[Path | None]):
    """Dismisses with the entered path once `check` accepts it, or None on escape."""

    DEFAULT_CSS = """
    PathPrompt > Vertical {
        width: 72;
        max-width: 95%;
        padding: 1 2;
    }
    PathPrompt #error {
        color: $error;
        height: auto;
    }
    PathPrompt #hint {
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss_none", "Back")]

    def __init__(self, title: str, initial: str, check: PathCheck, hint: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.initial = initial
        self.check = check
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical():
            # plain text: a title names a run or a file, an error quotes the path typed
            yield Static(self.title_text, id="title", markup=False)  # wraps a long name
            yield Input(self.initial, id="path")
            yield Static("", id="error", markup=False)
            if self.hint:
                yield Static(self.hint, id="hint", markup=False)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.query_one("#error", Static).update("enter a path")
            return
        path = Path(text).expanduser()
        problem = self.check(path)
        if problem:
            self.query_one("#error", Static).update(problem)
            return
        self.dismiss(path)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
