"""One preset field in the editor: its key, an input / select / switch, and its inline error.

Inputs are validated as they are typed by `FieldCheck`, which runs the edited text through the same
check as `hw3tui validate`, so the inline error is that command's message for this field.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.validation import ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static, Switch

from hw3tui.preset import PresetError
from hw3tui.preset.yamlio import flow, parse, to_plain
from hw3tui.tui.document import MISSING, PresetDocument, problems_at
from hw3tui.tui.fields import MISSING_DEFAULT, FieldSpec, Loc


def yaml_value(raw: str) -> Any:
    """A value typed as YAML (`0.01`, `[0.9, 0.999]`, `true`); ValueError when it is not YAML."""
    try:
        document = parse(f"value: {raw}\n", "value")
    except PresetError as exc:
        detail = exc.problems[0].message if exc.problems else str(exc)
        raise ValueError(f"not a YAML value: {detail}") from None
    if not isinstance(document.data, dict) or "value" not in document.data:
        raise ValueError("not a YAML value")
    return to_plain(document.data["value"])


def shown(value: Any) -> str:
    """A value as it is written in YAML flow style (strings bare when that is unambiguous)."""
    if isinstance(value, str):
        return value
    return flow(value)


def lookup(data: Any, path: Loc) -> Any:
    """The value at `path` in plain document data, or MISSING."""
    node = data
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def field_id(path: Loc) -> str:
    """The DOM id of the field at `path` (`field-augment-horizontal_flip`)."""
    return "field-" + "-".join(str(p) for p in path)


class FieldCheck(Validator):
    """Validates what is typed into a field the way `hw3tui validate` would validate the file."""

    def __init__(self, field: PresetField) -> None:
        super().__init__()
        self.field = field

    def validate(self, value: str) -> ValidationResult:
        try:
            parsed = self.field.parse(value)
        except ValueError as exc:
            return self.failure(str(exc), value)
        document = self.field.document
        if parsed == self.field.current and type(parsed) is type(self.field.current):
            text = document.text  # already the document's value: its check is cached
        else:
            try:
                text = document.edited(self.field.spec.path, parsed)
            except PresetError:
                return self.success()  # the file is not YAML right now; the list says why
        problems = problems_at(document.check(text)[1], self.field.spec.path)
        if problems:
            return self.failure("; ".join(p.message for p in problems), value)
        return self.success()


class PresetField(Widget):
    """An editable preset field (not a schedule: see ScheduleEditor)."""

    DEFAULT_CSS = """
    PresetField {
        height: auto;
    }
    PresetField > Horizontal {
        height: auto;
    }
    PresetField {
        margin-bottom: 1;
    }
    PresetField .key {
        width: 20;
        padding: 0 1 0 0;
        text-align: right;
        color: $text-muted;
    }
    PresetField.-section .key, PresetField.-optional .key {
        color: $accent;
        text-style: bold;
    }
    PresetField .control {
        width: 1fr;
    }
    PresetField Switch.control {
        width: auto;  /* `.control`'s 1fr would draw it as a field-wide empty box */
    }
    PresetField .error {
        display: none;
        color: $error;
        padding: 0 0 0 20;
    }
    PresetField.-invalid .error {
        display: block;
    }
    PresetField.-invalid .key {
        color: $error;
    }
    PresetField.-section .key {
        width: 1fr;
        text-align: left;
    }
    """

    class Changed(Message):
        """The user changed the field: `value` is the new value, or MISSING to remove the key."""

        def __init__(self, field: PresetField, value: Any) -> None:
            super().__init__()
            self.field = field
            self.value = value

        @property
        def path(self) -> Loc:
            return self.field.spec.path

    def __init__(self, spec: FieldSpec, document: PresetDocument) -> None:
        super().__init__(id=field_id(spec.path), classes=f"-{spec.kind}")
        self.spec = spec
        self.document = document
        self.current: Any = MISSING
        """The value the file writes (MISSING: the default applies)."""

    @property
    def help_text(self) -> str:
        default = ""
        if self.spec.default is not MISSING_DEFAULT:
            default = f" (default: {_default(self.spec)})"
        return f"[b]{self.spec.dotted}[/b]: {self.spec.help}{default}"

    def compose(self) -> ComposeResult:
        spec = self.spec
        with Horizontal():
            yield Label(spec.name if spec.kind != "section" else spec.dotted, classes="key")
            yield from self._control()
        yield Static("", classes="error")

    def _control(self) -> ComposeResult:
        spec = self.spec
        if spec.kind in ("switch", "optional"):
            yield Switch(value=False, classes="control", tooltip=spec.help)
        elif spec.kind == "select":
            yield Select(
                [(shown(c), c) for c in spec.choices],
                allow_blank=True,
                classes="control",
                tooltip=spec.help,
                compact=True,
            )
        elif spec.kind in ("text", "yaml"):
            placeholder = "" if spec.default is MISSING_DEFAULT else f"default: {_default(spec)}"
            yield Input(
                placeholder=placeholder,
                classes="control",
                validators=[FieldCheck(self)],
                suggester=(
                    SuggestFromList(spec.suggestions, case_sensitive=False)
                    if spec.suggestions
                    else None
                ),
                tooltip=spec.help,
                compact=True,
            )

    # ---- values ----------------------------------------------------------------------------

    def parse(self, raw: str) -> Any:
        """What the text typed into an input means.

        Emptying a field the file writes makes it `null` in place (its line and comment stay;
        validation says whether the field may be empty); a field the file leaves out stays out.
        """
        if not raw.strip():
            return MISSING if self.current is MISSING else None
        if self.spec.kind == "text":
            return raw
        return yaml_value(raw)

    def effective(self, value: Any) -> Any:
        return self.spec.default if value is MISSING else value

    def load(self, data: Any) -> None:
        """Show the value the document holds (without announcing it as a change)."""
        value = lookup(data, self.spec.path)
        self.current = value
        kind = self.spec.kind
        if kind in ("text", "yaml"):
            control = self.query_one(Input)
            try:
                same = self.parse(control.value) == value
            except ValueError:
                same = False
            if not same:
                with control.prevent(Input.Changed):
                    control.value = "" if value is MISSING or value is None else shown(value)
        elif kind == "switch":
            switch = self.query_one(Switch)
            wanted = self.effective(value)
            if isinstance(wanted, bool) and switch.value != wanted:
                with switch.prevent(Switch.Changed):
                    switch.value = wanted
        elif kind == "optional":
            switch = self.query_one(Switch)
            on_now = isinstance(value, dict)
            if switch.value != on_now:
                with switch.prevent(Switch.Changed):
                    switch.value = on_now
        elif kind == "select":
            select: Select[Any] = self.query_one(Select)
            wanted = self.effective(value)
            known = any(c == wanted and type(c) is type(wanted) for c in self.spec.choices)
            with select.prevent(Select.Changed):
                if known:
                    if select.value != wanted:
                        select.value = wanted
                else:
                    select.prompt = f"{shown(wanted)} (not a choice)"
                    select.clear()

    def show_problems(self, messages: list[str]) -> None:
        self.set_class(bool(messages), "-invalid")
        self.query_one(".error", Static).update("\n".join(messages))
        for control in self.query(Input):
            control.set_class(bool(messages), "-invalid")

    # ---- user edits ------------------------------------------------------------------------

    def _announce(self, value: Any) -> None:
        if value == self.current and type(value) is type(self.current):
            return
        if (
            self.current is MISSING
            and value == self.spec.default
            and type(value) is type(self.spec.default)
        ):
            return  # showing a default is not writing it: only a real change touches the file
        self.post_message(self.Changed(self, value))

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        try:
            value = self.parse(event.value)
        except ValueError as exc:
            self.show_problems([str(exc)])
            return
        self._announce(value)

    @on(Switch.Changed)
    def _switched(self, event: Switch.Changed) -> None:
        event.stop()
        if self.spec.kind == "optional":
            self._announce({} if event.value else MISSING)
        else:
            self._announce(event.value)

    @on(Select.Changed)
    def _selected(self, event: Select.Changed) -> None:
        event.stop()
        if event.value is Select.NULL:
            return
        self._announce(event.value)


def _default(spec: FieldSpec) -> str:
    return "none" if spec.default is None else shown(spec.default)
