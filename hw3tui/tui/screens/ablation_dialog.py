"""The ablation dialog (`a` on a preset): its variants with checkboxes, the seeds, and the plan
(how many runs, the estimated time) before anything starts. Start launches `hw3tui ablate`
detached, like the sweep dialog's sweep, leaving out the unchecked variants (`--skip`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, SelectionList, Static

from hw3tui.preset import Preset
from hw3tui.sweeps.ablation import variants_of
from hw3tui.sweeps.estimate import Estimate, estimate, plan_line
from hw3tui.tui.screens.dialog import Dialog
from hw3tui.untrusted import printable

DEFAULT_SEEDS = 3
"""Three seeds: the fewest that give each variant a verdict with some power."""
MAX_SEEDS = 100


@dataclass(frozen=True)
class AblationRequest:
    """What the dialog returns: seeds per configuration, and the fields left out."""

    seeds: int
    skip: tuple[str, ...]


class AblationDialog(Dialog[AblationRequest | None]):
    """An ablation of one preset: which of its variants to run, with how many seeds."""

    DEFAULT_CSS = """
    AblationDialog > Vertical {
        width: 78;
        max-width: 100%;
        max-height: 100%;
        padding: 0 1;
    }
    AblationDialog #title {
        text-style: bold;
        margin-bottom: 1;
    }
    AblationDialog SelectionList {
        height: auto;
        max-height: 12;
    }
    AblationDialog Horizontal {
        height: 1;
        margin-top: 1;
    }
    AblationDialog Label {
        width: 8;
        color: $text-muted;
    }
    AblationDialog Input {
        width: 10;
        background: $boost;
    }
    AblationDialog Input.refused {
        background: $error 30%;
    }
    AblationDialog #plan {
        height: auto;
        margin-top: 1;
    }
    AblationDialog #keys {
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "start", "Start", priority=True),
        Binding("escape", "dismiss_none", "Back"),
    ]

    def __init__(self, preset: Preset, shown: str, runs_dir: Path) -> None:
        super().__init__()
        self.preset = preset
        self.shown = shown
        self.variants = variants_of(preset)
        self.found: Estimate | None = estimate(preset, runs_dir)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Ablation of {escape(printable(self.shown))}", id="title")
            yield Static("the full preset, and each choice it makes turned off:")
            yield SelectionList[str](
                *((escape(printable(v.name)), v.field, True) for v in self.variants),
                id="variants",
            )
            with Horizontal():
                yield Label("seeds")
                yield Input(str(DEFAULT_SEEDS), id="seeds", type="integer")
            yield Static("", id="plan")
            yield Static("space toggles · ctrl+s start · esc back", id="keys")

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()
        self._show_plan()

    @property
    def seeds(self) -> int | None:
        text = self.query_one("#seeds", Input).value.strip()
        seeds = int(text) if text.isdigit() else None
        return seeds if seeds is not None and 1 <= seeds <= MAX_SEEDS else None

    @property
    def skip(self) -> tuple[str, ...]:
        chosen = set(self.query_one(SelectionList).selected)
        return tuple(v.field for v in self.variants if v.field not in chosen)

    def runs(self) -> int | None:
        seeds = self.seeds
        if seeds is None:
            return None
        return (1 + len(self.variants) - len(self.skip)) * seeds

    @on(SelectionList.SelectedChanged)
    @on(Input.Changed)
    def _show_plan(self) -> None:
        runs = self.runs()
        self.query_one("#seeds", Input).set_class(runs is None, "refused")
        text = f"seeds: a whole number from 1 to {MAX_SEEDS}" if runs is None else None
        self.query_one("#plan", Static).update(text or plan_line(runs or 0, self.found))

    def action_start(self) -> None:
        seeds = self.seeds
        if seeds is None:
            self.notify(f"Seeds: a whole number from 1 to {MAX_SEEDS}.", severity="error")
            return
        self.dismiss(AblationRequest(seeds, self.skip))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
