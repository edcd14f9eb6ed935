"""Every problem with the preset being edited, exactly as `hw3tui validate` prints them."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from hw3tui.preset import Problem


class ProblemList(Static):
    """`✓ valid`, or one `file:line:col: field: message` line per problem."""

    DEFAULT_CSS = """
    ProblemList {
        height: auto;
        max-height: 6;
        overflow-y: auto;
        padding: 0 1;
        color: $success;
    }
    ProblemList.-problems {
        color: $error;
        border-top: solid $error 50%;
    }
    """

    def show(self, problems: list[Problem]) -> None:
        self.set_class(bool(problems), "-problems")
        if not problems:
            self.update(Text("✓ valid"))
            return
        count = len(problems)
        lines = [f"✗ {count} problem{'s' if count != 1 else ''}:"]
        lines.extend(str(p) for p in problems)
        self.update(Text("\n".join(lines)))
