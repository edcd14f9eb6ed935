"""Pick one item from a list (another run to compare with, another preset to diff against)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from hw3tui.tui.screens.dialog import Dialog


class PickScreen(Dialog[str | None]):
    """Dismisses with the chosen option's id, or None on escape."""

    DEFAULT_CSS = """
    PickScreen > Vertical {
        width: 70;
        max-width: 95%;
        max-height: 80%;
        padding: 0 1;
    }
    PickScreen Label {
        text-style: bold;
        padding: 1 0;
    }
    PickScreen OptionList {
        height: auto;
        max-height: 16;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss_none", "Back")]

    def __init__(self, title: str, options: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.options = options

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            if self.options:
                yield OptionList(*(Option(label, id=key) for key, label in self.options))
            else:
                yield Label("Nothing to pick from yet.")

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
