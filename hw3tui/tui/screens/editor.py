"""The preset editor: a form per section, schedule editors, the raw YAML, live validation.

Every edit changes the document's TEXT (`set_value`), so saving keeps the file's comments and
layout. Problems are those of `hw3tui validate`, shown under their field and listed in full.
Leaving with unsaved edits asks first.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ValidationError
from rich.markup import escape
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, ContentSwitcher, Footer, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from hw3tui.preset.models import Schedule
from hw3tui.preset.schedule import describe, preview
from hw3tui.preset.yamlio import flow
from hw3tui.tui.document import MISSING, PresetDocument
from hw3tui.tui.fields import SECTION_TITLES, section_help
from hw3tui.tui.screens.choice import Choice, ChoiceScreen, confirm
from hw3tui.tui.screens.lr_find import LrFindScreen
from hw3tui.tui.screens.path_prompt import PathPrompt
from hw3tui.tui.widgets.augment_preview import AugmentPreview
from hw3tui.tui.widgets.field_help import FieldHelp
from hw3tui.tui.widgets.preset_field import PresetField, lookup
from hw3tui.tui.widgets.problem_list import ProblemList
from hw3tui.tui.widgets.schedule_editor import LR, ScheduleEditor, start_said, with_start
from hw3tui.tui.widgets.section_form import SectionForm

if TYPE_CHECKING:
    from hw3tui.tui.app import Hw3tuiApp

YAML_VIEW = "yaml"


def form_id(section: str) -> str:
    return f"section-{section or 'general'}"


class EditorScreen(Screen[None]):
    """Edit one preset file."""

    DEFAULT_CSS = """
    EditorScreen #title {
        height: 1;
        background: $boost;
        padding: 0 1;
    }
    EditorScreen #main {
        height: 1fr;
    }
    EditorScreen #sections {
        width: 16;
        height: 1fr;
        border: none;
        border-right: solid $primary 40%;
    }
    EditorScreen #forms {
        width: 1fr;
        height: 1fr;
    }
    EditorScreen #yaml {
        height: 1fr;
        border: none;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("f2", "save_as", "Save as", priority=True),
        Binding("ctrl+d", "diff", "Diff", priority=True),
        Binding("ctrl+r", "run", "Run", priority=True),
        Binding("ctrl+l", "find_lr", "Find lr", priority=True),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, document: PresetDocument) -> None:
        super().__init__()
        self.document = document

    @property
    def hw3(self) -> Hw3tuiApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        with Horizontal(id="main"):
            yield OptionList(
                *(Option(title, id=form_id(key)) for key, title in SECTION_TITLES.items()),
                Option("YAML", id=YAML_VIEW),
                id="sections",
            )
            with ContentSwitcher(id="forms", initial=form_id("")):
                # the other sections' forms are built when first shown: a fast first screen
                yield SectionForm("", self.document, id=form_id(""))
                yield TextArea(self.document.text, id=YAML_VIEW, show_line_numbers=True)
        yield ProblemList(id="problems")
        yield FieldHelp(id="help")
        yield Footer()

    def on_mount(self) -> None:
        data = self.document.data()
        for form in self.query(SectionForm):
            form.load(data)
        self._refresh_checks()
        self.query_one(FieldHelp).show(
            "Pick a section on the left (↑/↓), tab into its fields; help for the focused field "
            "shows here. ctrl+s saves, keeping the file's comments."
        )
        self.query_one("#sections", OptionList).focus()

    # ---- showing ---------------------------------------------------------------------------

    def _refresh_title(self) -> None:
        document = self.document
        name = escape(document.source)
        state = "  [b $warning]● modified[/]" if document.dirty else ""
        note = ""
        if document.read_only:
            note = "  [dim](read-only: F2 saves a copy)[/]"
        self.query_one("#title", Static).update(f"[b]Edit[/] {name}{state}{note}")

    def _refresh_checks(self) -> None:
        """Problems everywhere they show, the title, and the schedule plots."""
        problems = self.document.problems
        self.query_one(ProblemList).show(problems)
        for form in self.query(SectionForm):
            form.show_problems(problems)
        self._refresh_title()
        self._refresh_previews()

    def _refresh_previews(self) -> None:
        data = self.document.data()
        epochs = lookup(data, ("schedule", "epochs"))
        for editor in self.query(ScheduleEditor):
            name = editor.spec.name
            spec = lookup(data, ("schedule", name))
            fields: dict[str, Any] = {} if spec is MISSING else {name: spec}
            if epochs is not MISSING:
                fields["epochs"] = epochs
            try:
                schedule = Schedule.model_validate(fields)
            except ValidationError:
                editor.show_preview(None, "")
                continue
            value = getattr(schedule, name)
            editor.show_preview(
                preview(value, schedule.epochs, integer=name == "batch_size"),
                f"{describe(value)}  ·  {schedule.epochs} epochs",
            )
        # only while it shows: each draw is a child process
        if self.query_one("#forms", ContentSwitcher).current == form_id("augment"):
            for augment in self.query(AugmentPreview):
                augment.request(self.document)

    # ---- edits -----------------------------------------------------------------------------

    @on(PresetField.Changed)
    @on(ScheduleEditor.Changed)
    def _field_changed(self, event: PresetField.Changed | ScheduleEditor.Changed) -> None:
        event.stop()
        if self.document.set(event.path, event.value):
            self._document_changed(skip_form=False)

    def _document_changed(self, *, skip_form: bool) -> None:
        if not skip_form:
            current = self.query_one("#forms", ContentSwitcher).current
            if current and current != YAML_VIEW:
                self.query_one(f"#{current}", SectionForm).load(self.document.data())
        self._refresh_checks()

    @on(TextArea.Changed, "#yaml")
    def _yaml_typed(self, event: TextArea.Changed) -> None:
        if self.document.replace_text(event.text_area.text):
            self._document_changed(skip_form=True)

    @on(OptionList.OptionHighlighted, "#sections")
    async def _section_picked(self, event: OptionList.OptionHighlighted) -> None:
        target = str(event.option.id)
        switcher = self.query_one("#forms", ContentSwitcher)
        if switcher.current == target:
            return
        if target != YAML_VIEW and not switcher.query(f"#{target}"):
            section = next(key for key in SECTION_TITLES if form_id(key) == target)
            form = SectionForm(section, self.document, id=target)
            await switcher.mount(form)
            form.show_problems(self.document.problems)
            self._refresh_previews()
        switcher.current = target
        if target == YAML_VIEW:
            area = self.query_one(TextArea)
            if area.text != self.document.text:
                with area.prevent(TextArea.Changed):
                    area.load_text(self.document.text)
        else:
            self.query_one(f"#{target}", SectionForm).load(self.document.data())
            self._refresh_previews()
        if target == YAML_VIEW:
            help_text = "The preset's text: edit it directly; the forms follow it."
        else:
            help_text = section_help(self.query_one(f"#{target}", SectionForm).section)
        self.query_one(FieldHelp).show(help_text)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        widget: Widget | None = event.widget
        while widget is not None and not isinstance(widget, PresetField | ScheduleEditor):
            parent = widget.parent
            widget = parent if isinstance(parent, Widget) else None
        if widget is not None:
            self.query_one(FieldHelp).show(widget.help_text)

    # ---- saving ----------------------------------------------------------------------------

    @work(exclusive=True, group="editor-dialog")
    async def action_save(self) -> None:
        await self.save()

    @work(exclusive=True, group="editor-dialog")
    async def action_save_as(self) -> None:
        await self.save_as()

    async def save(self) -> bool:
        """Save to the file (a read-only preset asks for a new path); whether it was saved."""
        document = self.document
        if document.read_only or document.path is None:
            return await self.save_as()
        if not await self._problems_accepted():
            return False
        if document.changed_on_disk():
            answer = await self.app.push_screen_wait(
                confirm(
                    f"{document.source} changed on disk since it was opened.",
                    "Overwrite it",
                    "Keep editing",
                    "Ctrl+D shows how your text differs from the file now.",
                )
            )
            if answer != "yes":
                return False
        return self._write(None)

    async def save_as(self) -> bool:
        document = self.document
        if not await self._problems_accepted():
            return False
        presets_dir = self.hw3.presets_dir

        def check(path: Path) -> str | None:
            if path.suffix not in (".yaml", ".yml"):
                return "a preset file ends in .yaml"
            if path.is_dir():
                return f"{path} is a folder"
            # the presets folder is made when needed; any other folder must exist
            if not path.parent.is_dir() and path.parent.resolve() != presets_dir.resolve():
                return f"folder {path.parent} does not exist"
            return None

        path = await self.app.push_screen_wait(
            PathPrompt(
                "Save the preset as",
                str(self._suggested_path()),
                check,
                f"A .yaml file in an existing folder (or in {presets_dir}/).",
            )
        )
        if path is None:
            return False
        if path.exists() and path.resolve() != (document.path or Path()).resolve():
            answer = await self.app.push_screen_wait(
                confirm(f"{path} exists.", "Overwrite it", "Keep editing")
            )
            if answer != "yes":
                return False
        return self._write(path)

    def _write(self, path: Path | None) -> bool:
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            saved = self.document.save(path)
        except OSError as exc:
            self.notify(f"Not saved: {exc.strerror or exc}", severity="error")
            return False
        self.hw3.preset_saved(saved)
        self.notify(f"Saved {self.document.source}")
        self._refresh_title()
        return True

    async def _problems_accepted(self) -> bool:
        count = len(self.document.problems)
        if not count:
            return True
        answer = await self.app.push_screen_wait(
            confirm(
                f"The preset has {count} problem{'s' if count != 1 else ''}.",
                "Save anyway",
                "Keep editing",
                "hw3tui run refuses a preset with problems; the list under the form says what "
                "to fix.",
            )
        )
        return answer == "yes"

    def _suggested_path(self) -> Path:
        document = self.document
        name = document.preset.name if document.preset is not None else "preset"
        if document.read_only or document.path is None:
            return self.hw3.presets_dir / f"{name}.yaml"
        return document.path.with_name(f"{document.path.stem}-copy{document.path.suffix}")

    # ---- leaving, diff, run ----------------------------------------------------------------

    @work(exclusive=True, group="editor-dialog")
    async def action_back(self) -> None:
        if await self.may_leave():
            self.dismiss()

    async def may_leave(self) -> bool:
        """True when there is nothing unsaved, or the user saved or discarded it."""
        if not self.document.dirty:
            return True
        answer = await self.app.push_screen_wait(
            ChoiceScreen(
                f"Save your changes to {self.document.source}?",
                [
                    Choice("save", "Save", "s", "primary"),
                    Choice("discard", "Discard", "d", "error"),
                    Choice("stay", "Keep editing", "k"),
                ],
            )
        )
        if answer == "save":
            return await self.save()
        return answer == "discard"

    def action_diff(self) -> None:
        from hw3tui.tui.screens.diff import DiffScreen

        self.app.push_screen(DiffScreen(self.document, self.hw3.preset_entries()))

    @work(exclusive=True, group="editor-dialog")
    async def action_run(self) -> None:
        document = self.document
        if document.problems:
            self.notify("Fix the problems listed under the form before running.", severity="error")
            return
        if document.dirty:
            answer = await self.app.push_screen_wait(
                confirm("Save the preset and run it?", "Save and run", "Keep editing")
            )
            if answer != "yes" or not await self.save():
                return
        if document.path is not None:
            self.hw3.launch(document.path)

    # ---- the lr finder ---------------------------------------------------------------------

    @on(Button.Pressed, "#find-lr")
    def _find_lr_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_find_lr()

    def action_find_lr(self) -> None:
        """The lr range test on the preset as edited (a child process), offering its suggestion."""
        document = self.document
        if document.problems:
            first = document.problems[0]
            self.notify(
                f"Fix the preset's problems first ({first.field}: {first.message}).",
                severity="error",
            )
            return
        value = document.value(LR)
        written = Schedule.model_fields["lr"].default if value is MISSING else value
        screen = LrFindScreen(
            document.text,
            source=document.source,
            current=flow(written),
            applying=start_said(value, "schedule.lr"),
        )
        self.app.push_screen(screen, self._lr_found)

    def _lr_found(self, lr: float | None) -> None:
        if lr is None:
            return
        value = self.document.value(LR)
        if self.document.set(LR, with_start(None if value is MISSING else value, lr)):
            self._document_changed(skip_form=False)
        self.notify(f"schedule.lr: the lr finder's {lr:.2g} (unsaved)")
