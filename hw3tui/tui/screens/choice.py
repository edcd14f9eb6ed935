"""A question with a few answers, each on a button and a key: confirmations and quit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static

from hw3tui.tui.screens.dialog import Dialog

Variant = Literal["default", "primary", "success", "warning", "error"]


@dataclass(frozen=True)
class Choice:
    """One answer: the value returned, its button label, and the key that picks it."""

    value: str
    label: str
    key: str
    variant: Variant = "default"


class ChoiceScreen(Dialog[str | None]):
    """Ask `question`; dismiss with the chosen value, or None on escape."""

    DEFAULT_CSS = """
    ChoiceScreen > Vertical {
        width: auto;
        max-width: 76;
        min-width: 40;
        padding: 1 2;
    }
    ChoiceScreen #question {
        text-style: bold;
        margin-bottom: 1;
    }
    ChoiceScreen #detail {
        margin-bottom: 1;
        color: $text-muted;
    }
    ChoiceScreen Horizontal {
        height: auto;
        width: auto;
    }
    ChoiceScreen Button {
        margin-right: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss_none", "Back")]

    def __init__(self, question: str, choices: list[Choice], detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, id="question")
            if self.detail:
                yield Static(self.detail, id="detail")
            with Horizontal():
                for choice in self.choices:
                    yield Button(
                        Text(f"{choice.label} [{choice.key}]"),  # a str would be markup
                        id=f"choice-{choice.value}",
                        variant=choice.variant,
                    )

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(str(event.button.id).removeprefix("choice-"))

    def on_key(self, event: events.Key) -> None:
        for choice in self.choices:
            if event.key == choice.key:
                event.stop()
                self.dismiss(choice.value)
                return
        if event.key in ("left", "up"):
            event.stop()
            self.focus_previous()
        elif event.key in ("right", "down"):
            event.stop()
            self.focus_next()

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


def confirm(question: str, yes: str, no: str, detail: str = "") -> ChoiceScreen:
    """A yes/no question: dismisses with "yes", "no" or None."""
    return ChoiceScreen(
        question,
        [Choice("yes", yes, "y", "warning"), Choice("no", no, "n", "primary")],
        detail,
    )


def confirm_cancel(run_name: str) -> ChoiceScreen:
    """The question before cancelling a live run (asked the same on the home and run screens)."""
    return confirm(
        f"Cancel {run_name}?",
        "Cancel run",
        "Keep running",
        "It finishes the current batch, saves its state (hw3tui resume continues it), "
        "and its state becomes cancelled.",
    )


def confirm_cancel_sweep(sweep_name: str) -> ChoiceScreen:
    """The question before cancelling a running sweep (home and sweep screens)."""
    return confirm(
        f"Cancel the sweep {sweep_name}?",
        "Cancel sweep",
        "Keep running",
        "Its running trials finish their batch and save; no new trial starts. "
        "r on its screen (or hw3tui sweep resume) continues it.",
    )
