"""Edit one schedule (lr, batch size or weight decay): pick its form, edit its values, see it.

The forms are the preset's: a constant, `{epoch: value}`, one value per epoch, linear, cosine and
plateau. The plot shows the value at every epoch (a plateau shows its start: it reacts to val
accuracy during the run).
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Container, Horizontal
from textual.message import Message
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Input, Label, Select, Static

from hw3tui.preset.yamlio import flow
from hw3tui.tui.document import MISSING
from hw3tui.tui.fields import FieldSpec, Loc
from hw3tui.tui.widgets.curves import Curves, Series
from hw3tui.tui.widgets.preset_field import lookup, shown, yaml_value

FORMS: tuple[tuple[str, str], ...] = (
    ("constant", "constant"),
    ("by_epoch", "by epoch  {epoch: value}"),
    ("per_epoch", "per epoch  [v0, v1, ...]"),
    ("linear", "linear"),
    ("cosine", "cosine"),
    ("plateau", "plateau (on val acc)"),
)

PARTS: dict[str, tuple[str, ...]] = {
    "constant": ("value",),
    "by_epoch": ("epochs",),
    "per_epoch": ("values",),
    "linear": ("start", "end"),
    "cosine": ("start", "end"),
    "plateau": ("start", "factor", "patience", "min", "max"),
}

LR: Loc = ("schedule", "lr")
"""The field the lr finder offers to set."""

PLACEHOLDERS = {
    "epochs": "0: 0.01, 15: 0.001",
    "values": "0.01, 0.01, 0.005",
    "min": "optional",
    "max": "optional",
}


def form_of(value: Any) -> str:
    """Which form a (plain, possibly invalid) schedule value is written in."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in ("linear", "cosine", "plateau"):
            return str(next(iter(value)))
        return "by_epoch"
    if isinstance(value, list):
        return "per_epoch"
    return "constant"


def first_value(value: Any, default: Any) -> Any:
    """The schedule's value at its start, to carry over when the form changes."""
    form = form_of(value)
    if form == "constant":
        return value if isinstance(value, int | float) and not isinstance(value, bool) else default
    if form == "by_epoch":
        return value.get(0, next(iter(value.values()), default)) if value else default
    if form == "per_epoch":
        return value[0] if value else default
    inner = value[form]
    return inner.get("start", default) if isinstance(inner, dict) else default


def with_start(value: Any, start: float) -> Any:
    """`value` with its first epoch's value set to `start`, the rest kept (the lr finder's apply).

    A constant (or an unwritten or invalid one) becomes `start`; `{epoch: value}` gets epoch 0's;
    a per-epoch list its first item; linear, cosine and plateau their `start`.
    """
    form = form_of(value)
    if form == "by_epoch":
        return {0: start, **{k: v for k, v in value.items() if k != 0}}
    if form == "per_epoch":
        return [start, *value[1:]]
    if form in ("linear", "cosine", "plateau") and isinstance(value[form], dict):
        return {form: {**value[form], "start": start}}
    return start


def start_said(value: Any, name: str) -> str:
    """What `with_start` does to `value`, in words (`name`: the dotted key)."""
    form = form_of(value)
    if form == "by_epoch":
        return f"sets epoch 0's value of {name}; the later epochs keep theirs"
    if form == "per_epoch" and len(value) > 1:
        return (
            f"{name} is one value per epoch: sets the first epoch's; "
            f"the other {len(value) - 1} keep theirs"
        )
    if form in ("linear", "cosine", "plateau") and isinstance(value[form], dict):
        rest = "its end stays" if form != "plateau" else "its factor and patience stay"
        return f"sets the {form} schedule's start; {rest}"
    return f"sets {name} to it"


class ScheduleEditor(Widget):
    """A schedule field: form select, value inputs, inline error, per-epoch plot."""

    DEFAULT_CSS = """
    ScheduleEditor {
        height: auto;
        border: round $primary 40%;
        padding: 0 1;
        margin: 1 0 0 0;
    }
    ScheduleEditor:focus-within {
        border: round $primary;
    }
    ScheduleEditor > Horizontal {
        height: auto;
    }
    ScheduleEditor .key {
        width: 14;
        padding: 0 1 0 0;
        text-style: bold;
        color: $accent;
    }
    ScheduleEditor Select {
        width: 1fr;
    }
    ScheduleEditor ContentSwitcher {
        height: auto;
    }
    ScheduleEditor .parts {
        layout: grid;
        grid-size: 4;
        grid-columns: auto 1fr auto 1fr;
        grid-rows: 1;
        grid-gutter: 1 0;
        margin: 1 0;
        height: auto;
    }
    ScheduleEditor .part {
        width: auto;
        padding: 0 1;
        color: $text-muted;
    }
    ScheduleEditor .parts Input.wide {
        column-span: 3;
    }
    ScheduleEditor .error {
        display: none;
        color: $error;
    }
    ScheduleEditor.-invalid .error {
        display: block;
    }
    ScheduleEditor.-invalid {
        border: round $error;
    }
    ScheduleEditor Curves {
        height: 8;
    }
    ScheduleEditor .describe {
        color: $text-muted;
    }
    """

    class Changed(Message):
        """The schedule's new value (plain data, as it will be written)."""

        def __init__(self, editor: ScheduleEditor, value: Any) -> None:
            super().__init__()
            self.editor = editor
            self.value = value

        @property
        def path(self) -> Loc:
            return self.editor.spec.path

    def __init__(self, spec: FieldSpec) -> None:
        super().__init__(id=f"schedule-{spec.name}")
        self.spec = spec
        self.integer = spec.name == "batch_size"
        self.current: Any = MISSING
        self.epochs = 10

    @property
    def help_text(self) -> str:
        finder = ""
        if self.spec.path == LR:
            finder = " ctrl+l (or the button below) runs the lr finder (hw3tui lr-find) on it."
        return (
            f"[b]{self.spec.dotted}[/b]: {self.spec.help} (default: {shown(self.spec.default)}). "
            "Forms: a constant; {epoch: value} from epoch 0; one value per epoch; linear or "
            "cosine from start to end; plateau: ×factor after `patience` epochs without a "
            f"better val acc.{finder}"
        )

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(self.spec.name, classes="key")
            yield Select(
                [(label, form) for form, label in FORMS],
                allow_blank=False,
                value="constant",
                id="form",
                compact=True,
            )
        with ContentSwitcher(initial="constant"):
            for form, parts in PARTS.items():
                with Container(id=form, classes="parts"):
                    for part in parts:
                        yield Label(part, classes="part")
                        yield Input(
                            placeholder=PLACEHOLDERS.get(part, ""),
                            id=f"{form}-{part}",
                            classes="wide" if len(parts) == 1 else "",
                            compact=True,
                        )
        yield Static("", classes="error")
        yield Curves(self.spec.name, empty="fix the errors to see it", id=f"plot-{self.spec.name}")
        yield Static("", classes="describe")

    # ---- showing ---------------------------------------------------------------------------

    @property
    def value(self) -> Any:
        return self.spec.default if self.current is MISSING else self.current

    def load(self, data: Any) -> None:
        """Show the document's schedule (without announcing it as a change)."""
        self.current = lookup(data, self.spec.path)
        epochs = lookup(data, ("schedule", "epochs"))
        if isinstance(epochs, int) and not isinstance(epochs, bool) and epochs > 0:
            self.epochs = epochs
        value = self.value
        form = form_of(value)
        select: Select[str] = self.query_one("#form", Select)
        if select.value != form:
            with select.prevent(Select.Changed):
                select.value = form
        self.query_one(ContentSwitcher).current = form
        for part, text in _texts(form, value).items():
            control = self.query_one(f"#{form}-{part}", Input)
            try:
                same = self._part_value(form, part, control.value) == self._part_value(
                    form, part, text
                )
            except ValueError:
                same = False
            if not same:
                with control.prevent(Input.Changed):
                    control.value = text

    def show_problems(self, messages: list[str]) -> None:
        self.set_class(bool(messages), "-invalid")
        self.query_one(".error", Static).update("\n".join(messages))

    def show_preview(self, values: list[float] | None, description: str) -> None:
        curves = self.query_one(Curves)
        if values is None:
            curves.plot([], empty="fix the errors to see it")
        else:
            curves.plot([Series(self.spec.name, list(range(len(values))), values)])
        self.query_one(".describe", Static).update(description)

    # ---- edits -----------------------------------------------------------------------------

    def _part_value(self, form: str, part: str, raw: str) -> Any:
        raw = raw.strip()
        if part == "epochs":
            return yaml_value("{" + raw + "}")
        if part == "values":
            return yaml_value("[" + raw + "]")
        if not raw:
            return None if part == "value" else MISSING  # an empty ramp part is left out
        return yaml_value(raw)

    def _built(self, form: str) -> Any:
        """The schedule value the inputs of `form` describe (ValueError if one is not YAML)."""
        parts = {
            part: self._part_value(form, part, self.query_one(f"#{form}-{part}", Input).value)
            for part in PARTS[form]
        }
        if form == "constant":
            return parts["value"]
        if form == "by_epoch":
            return parts["epochs"]
        if form == "per_epoch":
            return parts["values"]
        inner = {k: v for k, v in parts.items() if v is not MISSING}
        return {form: inner}

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        form = str(self.query_one("#form", Select).value)
        try:
            value = self._built(form)
        except ValueError as exc:
            self.show_problems([str(exc)])
            return
        if value != self.current:
            self.post_message(self.Changed(self, value))

    @on(Select.Changed, "#form")
    def _form_picked(self, event: Select.Changed) -> None:
        event.stop()
        form = str(event.value)
        if form == form_of(self.value):
            return
        value = self.converted(form)
        self.query_one(ContentSwitcher).current = form
        for part, text in _texts(form, value).items():
            control = self.query_one(f"#{form}-{part}", Input)
            with control.prevent(Input.Changed):
                control.value = text
        self.post_message(self.Changed(self, value))

    def converted(self, form: str) -> Any:
        """The current schedule rewritten in `form`, starting from its current first value."""
        start = first_value(self.value, self.spec.default)
        if form == "constant":
            return start
        if form == "by_epoch":
            return {0: start}
        if form == "per_epoch":
            return [start] * self.epochs
        if form in ("linear", "cosine"):
            return {form: {"start": start, "end": start}}
        factor = 2 if self.integer else 0.5
        return {"plateau": {"start": start, "factor": factor, "patience": 3}}


def _texts(form: str, value: Any) -> dict[str, str]:
    """What each input of `form` shows for `value`."""
    if form == "constant":
        return {"value": shown(value)}
    if form == "by_epoch" and isinstance(value, dict):
        return {"epochs": ", ".join(f"{k}: {flow(v)}" for k, v in value.items())}
    if form == "per_epoch" and isinstance(value, list):
        return {"values": ", ".join(flow(v) for v in value)}
    inner = value.get(form) if isinstance(value, dict) else None
    inner = inner if isinstance(inner, dict) else {}
    return {part: "" if part not in inner else shown(inner[part]) for part in PARTS[form]}
