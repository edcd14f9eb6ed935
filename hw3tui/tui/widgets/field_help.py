"""The focused field's documentation (the preset model's docstring for it)."""

from __future__ import annotations

from textual.widgets import Static


class FieldHelp(Static):
    """Two or three lines of help under the editor."""

    DEFAULT_CSS = """
    FieldHelp {
        height: 3;
        padding: 0 1;
        background: $boost;
        color: $text;
    }
    """

    def show(self, text: str) -> None:
        self.update(text)
