"""One section of the preset as a form: its fields, nested sections and schedule editors."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Button, Static

from hw3tui.preset import Problem
from hw3tui.tui.document import PresetDocument, problems_at
from hw3tui.tui.fields import FieldSpec, section_fields, section_help
from hw3tui.tui.widgets.augment_preview import AugmentPreview
from hw3tui.tui.widgets.preset_field import PresetField, lookup
from hw3tui.tui.widgets.schedule_editor import LR, ScheduleEditor


class SectionForm(VerticalScroll):
    """The form of one editor section (`""` is the top level: name and seed)."""

    DEFAULT_CSS = """
    SectionForm {
        height: 1fr;
        padding: 0 1;
    }
    SectionForm > .intro {
        color: $text-muted;
        padding: 0 0 1 0;
    }
    SectionForm .children {
        height: auto;
        padding: 0 0 0 2;
    }
    SectionForm .children.-off {
        display: none;
    }
    """

    def __init__(self, section: str, document: PresetDocument, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.can_focus = False  # tab goes straight to the first field
        self.section = section
        self.document = document

    def compose(self) -> ComposeResult:
        yield Static(section_help(self.section), classes="intro")
        if self.section == "augment":
            yield AugmentPreview(id="augment-preview")
        for spec in section_fields(self.section):
            yield from self._field(spec)

    def _field(self, spec: FieldSpec) -> ComposeResult:
        if spec.kind == "schedule":
            yield ScheduleEditor(spec)
            if spec.path == LR:  # the editor screen runs it (ctrl+l does the same)
                yield Button(Text("Find lr… [ctrl+l]"), id="find-lr", compact=True)
            return
        yield PresetField(spec, self.document)
        if spec.kind in ("section", "optional"):
            with Vertical(classes="children", id="in-" + spec.dotted.replace(".", "-")):
                for child in spec.children:
                    yield from self._field(child)

    def load(self, data: Any) -> None:
        """Show the document's values (fields being typed into are left alone)."""
        for field in self.query(PresetField):
            field.load(data)
            if field.spec.kind == "optional":
                present = isinstance(lookup(data, field.spec.path), dict)
                box = self.query_one("#in-" + field.spec.dotted.replace(".", "-"))
                box.set_class(not present, "-off")
        for editor in self.query(ScheduleEditor):
            editor.load(data)

    def show_problems(self, problems: list[Problem]) -> None:
        for field in self.query(PresetField):
            if field.spec.kind in ("section", "optional"):
                found = [p for p in problems if p.field == field.spec.dotted]
            else:
                found = problems_at(problems, field.spec.path)
            field.show_problems([p.message for p in found])
        for editor in self.query(ScheduleEditor):
            editor.show_problems([p.message for p in problems_at(problems, editor.spec.path)])
