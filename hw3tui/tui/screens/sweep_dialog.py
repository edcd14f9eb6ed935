"""`s` on a preset: build a sweep file from picked fields and values, check it as you type, write
it next to the preset and start it.

The text is an ordinary sweep file (`hw3tui sweep FILE` runs it the same), written by the sweeps
package's one writer (`dump_sweep`) and checked by its own reader (`check_sweep_text`): its errors
are the CLI's, located in the file the dialog will write. Values are typed as YAML: `sgd, adam` is
the list `[sgd, adam]`; a text that starts with `{` or `[` is taken as it is (`{loguniform:
[1.0e-4, 1.0e-2]}`); quote a value with `: ` or ` #` in it (`'a: b'`). Names and field paths are
taken as typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, Static
from textual.worker import get_current_worker

from hw3tui.preset import PresetError
from hw3tui.sweeps.file import check_sweep_text, dump_sweep
from hw3tui.tui.catalog import SWEEP_SUFFIX
from hw3tui.tui.fields import SECTION_TITLES, FieldSpec, section_fields
from hw3tui.tui.paths import shown_path
from hw3tui.tui.screens.dialog import Dialog
from hw3tui.tui.widgets.preset_field import yaml_value

AXIS_ROWS = 3
NO_AXES = "Pick a field to vary and type its values (e.g. optimizer.name: sgd, adam)."
CHECK_DELAY_S = 0.25
"""Typing pauses this long before the sweep is checked (each check reads the preset again)."""


@dataclass(frozen=True)
class SweepPlan:
    """What the dialog returns: the sweep file written, and the sweep's name."""

    path: Path
    name: str


@dataclass(frozen=True)
class Draft:
    """The sweep file the form would write, and what in the form is not YAML."""

    text: str
    has_axes: bool
    errors: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    """The axes (and `set.<path>`) whose value is not YAML, to mark their row."""


@dataclass(frozen=True)
class Verdict:
    """The check of one text: planned trials, or the located errors."""

    text: str
    trials: int | None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    """The axes (and `set.<path>`) named by an error, to mark their row."""


class SweepDialog(Dialog[SweepPlan | None]):
    """A sweep of one preset: up to three axes, one fixed override, method, trials, pruning."""

    DEFAULT_CSS = """
    SweepDialog > Vertical {
        width: 78;
        max-width: 100%;
        max-height: 100%;
        padding: 0 1;
    }
    SweepDialog #title {
        text-style: bold;
        margin-bottom: 1;
    }
    SweepDialog Horizontal {
        height: 1;
    }
    SweepDialog Label {
        width: 8;
        color: $text-muted;
    }
    SweepDialog Label.second {
        width: 8;
        padding-left: 1;
    }
    SweepDialog Input {
        width: 1fr;
        background: $boost;
    }
    SweepDialog Input:focus {
        background: $primary 30%;
    }
    SweepDialog Input.refused {
        background: $error 30%;
    }
    SweepDialog .field {
        width: 24;
    }
    SweepDialog .short {
        width: 10;
    }
    SweepDialog #help {
        height: auto;
        margin-top: 1;
        color: $text-muted;
    }
    SweepDialog #verdict {
        height: auto;
        max-height: 6;
        margin-top: 1;
    }
    SweepDialog #keys {
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "start", "Write and start", priority=True),
        Binding("escape", "dismiss_none", "Back"),
    ]

    class Checked(Message):
        def __init__(self, verdict: Verdict) -> None:
            super().__init__()
            self.verdict = verdict

    def __init__(self, preset_path: Path, preset_name: str, *, builtin: str | None = None) -> None:
        """`builtin`: the built-in preset's name (the file then goes to `preset_path`'s folder,
        the presets folder, and names the preset by its name)."""
        super().__init__()
        self.preset_path = preset_path
        self.preset_name = preset_name
        self.builtin = builtin
        self.verdict: Verdict | None = None

    @property
    def folder(self) -> Path:
        return self.preset_path.parent

    @property
    def target(self) -> Path:
        return self.folder / f"{self._value('name') or 'sweep'}{SWEEP_SUFFIX}.yaml"

    def compose(self) -> ComposeResult:
        paths = [spec.dotted for spec in sweepable_fields()]
        suggester = SuggestFromList(paths, case_sensitive=False)
        source = (self.builtin and f"{self.builtin} (built-in)") or shown_path(self.preset_path)
        with Vertical():
            yield Static(f"Sweep of {escape(source)}", id="title")
            with Horizontal():
                yield Label("name")
                yield _field(f"{self.preset_name}-sweep", id="name")
            for row in range(AXIS_ROWS):
                with Horizontal():
                    yield Label("field")
                    yield _field(
                        placeholder="e.g. optimizer.name",
                        suggester=suggester,
                        id=f"field-{row}",
                        classes="field",
                    )
                    yield Label("values", classes="second")
                    yield _field(placeholder="e.g. sgd, adam", id=f"values-{row}")
            with Horizontal():
                yield Label("set")
                yield _field(
                    placeholder="e.g. schedule.epochs",
                    suggester=suggester,
                    id="set-field",
                    classes="field",
                )
                yield Label("to", classes="second")
                yield _field(placeholder="one value for every trial", id="set-value")
            with Horizontal():
                yield Label("method")
                yield _field(
                    "grid",
                    suggester=SuggestFromList(["grid", "random", "tpe"]),
                    id="method",
                    classes="short",
                )
                yield Label("trials", classes="second")
                yield _field(placeholder="all", id="trials", classes="short")
                yield Label("repeat", classes="second")
                yield _field("1", id="repeat", classes="short")
                yield Label("prune", classes="second")
                yield _field(
                    "none",
                    suggester=SuggestFromList(
                        ["none", "{median: {after_epochs: 1}}", "{halving: {min_epochs: 1}}"]
                    ),
                    id="prune",
                )
            yield Static("", id="help")
            yield Static("", id="verdict")
            yield Static("ctrl+s write the file and start the sweep · esc back", id="keys")

    def on_mount(self) -> None:
        self.query_one("#field-0", Input).focus()
        self._check(self.draft(), self.target)

    # ---- the sweep file ----------------------------------------------------------------------

    def _value(self, input_id: str) -> str:
        return self.query_one(f"#{input_id}", Input).value.strip()

    def axes(self) -> list[tuple[str, str]]:
        """The (field, values) rows filled in."""
        rows = [(self._value(f"field-{i}"), self._value(f"values-{i}")) for i in range(AXIS_ROWS)]
        return [(field, values) for field, values in rows if field or values]

    def draft(self) -> Draft:
        """The sweep file the dialog would write (through the sweeps package's writer)."""
        base = self.builtin or self.preset_path.name
        sweep: dict[str, Any] = {"name": self._value("name"), "base": base}
        errors: list[str] = []
        fields: list[str] = []

        def typed(text: str, what: str, field: str) -> Any:
            try:
                return yaml_value(text)
            except ValueError as exc:
                errors.append(f"{what}: {exc}")
                fields.append(field)
                return text

        set_field, set_value = self._value("set-field"), self._value("set-value")
        if set_field or set_value:
            where = f"set.{set_field}"
            sweep["set"] = {set_field: typed(set_value, f"the value of {where}", where)}
        axes = self.axes()
        if axes:
            sweep["axes"] = {}
            for field, values in axes:
                if field in sweep["axes"]:
                    errors.append(f"axes.{field}: given twice")
                    fields.append(field)
                what = f"the values of axes.{field}"
                sweep["axes"][field] = typed(_as_values(values), what, field)
        sweep["method"] = self._value("method")
        if self._value("trials"):
            sweep["trials"] = typed(self._value("trials"), "trials", "trials")
        if self._value("repeat") not in ("", "1"):  # seeds per configuration
            sweep["repeat"] = typed(self._value("repeat"), "repeat", "repeat")
        sweep["prune"] = typed(self._value("prune") or "none", "prune", "prune")
        comment = (
            f"A sweep of {base}, written by hw3tui; `hw3tui sweep {self.target.name}` runs it."
        )
        text = dump_sweep(sweep, comment=comment)
        return Draft(text, bool(axes), tuple(errors), tuple(fields))

    # ---- checking as you type ----------------------------------------------------------------

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input.id and event.input.id.startswith(("field-", "set-field")):
            self._show_help(event.value.strip())
        self._check(self.draft(), self.target)

    @work(thread=True, exclusive=True, group="check-sweep")
    def _check(self, draft: Draft, target: Path) -> None:
        worker = get_current_worker()
        if worker.cancelled_event.wait(CHECK_DELAY_S):
            return  # typed again: the next check is under way
        self.post_message(self.Checked(check(draft, target, self.folder)))

    @on(Checked)
    def _checked(self, message: Checked) -> None:
        verdict = message.verdict
        if verdict.text != self.draft().text:
            return  # an older text's check
        self.verdict = verdict
        for row in range(AXIS_ROWS):
            named = self._value(f"field-{row}") in verdict.fields
            self.query_one(f"#values-{row}", Input).set_class(named, "refused")
        named = f"set.{self._value('set-field')}" in verdict.fields
        self.query_one("#set-value", Input).set_class(named, "refused")
        shown = self.query_one("#verdict", Static)
        if verdict.errors == (NO_AXES,):
            shown.update(f"[$text-muted]{NO_AXES}[/]")
            return
        if verdict.errors:
            shown.update("[b $error]✗[/] " + escape("\n".join(verdict.errors)))
            return
        what = f"{verdict.trials} trial{'s' if verdict.trials != 1 else ''}"
        if self._value("repeat") not in ("", "1"):
            what += f" × {escape(self._value('repeat'))} seeds"
        replaces = " (replaces it)" if self.target.exists() else ""
        text = f"[b $success]✓[/] {what} · writes {escape(shown_path(self.target))}{replaces}"
        for warning in verdict.warnings[:2]:
            text += f"\n[$warning]warning:[/] {escape(warning)}"
        shown.update(text)

    def _show_help(self, dotted: str) -> None:
        spec = next((s for s in sweepable_fields() if s.dotted == dotted), None)
        help_line = ""
        if spec is not None:
            choices = f" ({', '.join(str(c) for c in spec.choices)})" if spec.choices else ""
            help_line = f"{spec.dotted}{choices}: {spec.help}"
        self.query_one("#help", Static).update(escape(help_line))

    # ---- answering ---------------------------------------------------------------------------

    def action_start(self) -> None:
        from hw3tui.atomic import write_text_atomic

        draft = self.draft()
        verdict = self.verdict
        if verdict is None or verdict.text != draft.text:
            verdict = check(draft, self.target, self.folder)
            self.post_message(self.Checked(verdict))
        if verdict.errors:
            self.notify("Fix the sweep first (the errors are under the form).", severity="error")
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.target, draft.text)
        except OSError as exc:
            self.notify(f"Could not write {shown_path(self.target)}: {exc}", severity="error")
            return
        self.dismiss(SweepPlan(self.target, self._value("name")))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


def check(draft: Draft, target: Path, folder: Path) -> Verdict:
    """Check a sweep text as the CLI would, located in `target` (the file to be written)."""
    text = draft.text
    if draft.errors:
        return Verdict(text, None, draft.errors, (), draft.fields)
    if not draft.has_axes:
        return Verdict(text, None, (NO_AXES,))
    try:
        loaded = check_sweep_text(text, shown_path(target), folder)
    except PresetError as exc:
        fields = tuple(p.field for p in exc.problems if p.field)
        axes = tuple(f.removeprefix("axes.") for f in fields if f.startswith("axes."))
        return Verdict(text, None, tuple(str(p) for p in exc.problems), (), (*axes, *fields))
    return Verdict(text, loaded.sweep.planned(), (), tuple(loaded.warnings))


def _field(value: str = "", **options: Any) -> Input:
    """A one-line input (the dialog fits 80×24 with its errors)."""
    return Input(value, compact=True, **options)


def _as_values(typed: str) -> str:
    """`sgd, adam` → `[sgd, adam]`; a flow list or mapping is kept as typed."""
    return typed if typed.startswith(("[", "{")) else f"[{typed}]"


@cache
def sweepable_fields() -> tuple[FieldSpec, ...]:
    """Every leaf field of a preset (the axes and `set` paths the dialog suggests)."""
    found: list[FieldSpec] = []

    def walk(specs: list[FieldSpec]) -> None:
        for spec in specs:
            if spec.kind in ("section", "optional"):
                walk(spec.children)
            else:
                found.append(spec)

    for section in SECTION_TITLES:
        walk(section_fields(section))
    return tuple(found)
