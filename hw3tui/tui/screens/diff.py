"""What edits change: the text against the file on disk, or the fields against another preset."""

from __future__ import annotations

import difflib
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Select, Static, TabbedContent, TabPane

from hw3tui.preset.diff import diff
from hw3tui.preset.yamlio import flow
from hw3tui.tui.catalog import PresetEntry
from hw3tui.tui.document import PresetDocument


class DiffScreen(Screen[None]):
    """Two views: the unsaved text against the file, and field changes against another preset."""

    DEFAULT_CSS = """
    DiffScreen #title {
        height: 1;
        background: $boost;
        padding: 0 1;
    }
    DiffScreen TabbedContent, DiffScreen TabPane, DiffScreen VerticalScroll {
        height: 1fr;
    }
    DiffScreen Select {
        margin: 1 0;
    }
    DiffScreen .diff {
        height: auto;
        padding: 0 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,backspace", "back", "Back")]

    def __init__(
        self, document: PresetDocument, presets: list[PresetEntry], *, against_preset: bool = False
    ) -> None:
        super().__init__()
        self.document = document
        self.initial = "other" if against_preset else "on-disk"
        own = document.path.resolve() if document.path is not None else None
        self.presets = [p for p in presets if p.path.resolve() != own]

    def compose(self) -> ComposeResult:
        yield Static(f"[b]Diff[/] {self.document.source}", id="title")
        with TabbedContent(initial=self.initial):
            with TabPane("Against the file on disk", id="on-disk"), VerticalScroll():
                yield Static(self._disk_diff(), classes="diff", id="disk-diff")
            with TabPane("Against another preset", id="other"), VerticalScroll():
                yield Select(
                    [(p.shown, p.key) for p in self.presets],
                    prompt="Pick a preset",
                    id="other-preset",
                )
                yield Static("", classes="diff", id="field-diff")
        yield Footer()

    def _disk_diff(self) -> Text:
        on_disk = self.document.disk_text()
        if on_disk is None:
            return Text("The file is not on disk (yet).", style="dim")
        if on_disk == self.document.text:
            return Text("No unsaved changes: the text is the file's.", style="dim")
        text = Text()
        lines = difflib.unified_diff(
            on_disk.splitlines(),
            self.document.text.splitlines(),
            f"{self.document.source} (on disk)",
            f"{self.document.source} (edited)",
            lineterm="",
        )
        for line in lines:
            style = ""
            if line.startswith(("+++", "---")):
                style = "bold"
            elif line.startswith("+"):
                style = "green"
            elif line.startswith("-"):
                style = "red"
            elif line.startswith("@@"):
                style = "cyan"
            text.append(line + "\n", style=style)
        return text

    @on(Select.Changed, "#other-preset")
    def _other_picked(self, event: Select.Changed) -> None:
        target = self.query_one("#field-diff", Static)
        entry = next((p for p in self.presets if p.key == event.value), None)
        if entry is None:
            target.update("")
            return
        mine = self.document.preset
        if mine is None:
            target.update(Text("Fix this preset's problems to compare its fields.", style="red"))
            return
        if entry.preset is None:
            target.update(Text(f"{entry.shown} has problems: {entry.problem}", style="red"))
            return
        changes = diff(mine, entry.preset)
        if not changes:
            target.update(Text("Every field is the same (defaults filled in).", style="dim"))
            return
        text = Text()
        text.append(f"{self.document.source} → {entry.shown}\n", style="bold")
        width = max(len(c.field) for c in changes)
        for change in changes:
            text.append(f"{change.field:<{width}}  ")
            text.append(flow(change.before), style="red")
            text.append(" → ")
            text.append(flow(change.after), style="green")
            text.append("\n")
        target.update(text)

    def action_back(self) -> None:
        self.dismiss()
