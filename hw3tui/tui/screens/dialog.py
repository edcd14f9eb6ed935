"""The look every dialog shares: one box over the screen it was opened on, centred, with a thick
border. A dialog's own DEFAULT_CSS gives its box's size and padding and styles its content (it
wins over this one: Textual ranks a subclass's DEFAULT_CSS above its base's)."""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType]):
    """A modal screen whose one child, a `Vertical` or `VerticalScroll`, is the dialog's box."""

    DEFAULT_CSS = """
    Dialog {
        align: center middle;
    }
    Dialog > Vertical, Dialog > VerticalScroll {
        height: auto;
        border: thick $primary 80%;
        background: $surface;
    }
    """
