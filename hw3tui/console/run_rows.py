"""What a list of runs shows of each run, as text: the same rows and columns in `hw3tui runs` and
on the TUI's home screen (no Textual here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hw3tui.humanize import format_duration, format_started
from hw3tui.runs import RunState, RunSummary
from hw3tui.runs.states import Tone
from hw3tui.untrusted import printable

COLUMNS = ("Run", "State", "Best val acc", "Epochs", "Time", "Started")

TONE_STYLES = {Tone.WARNING: "yellow", Tone.ERROR: "red"}
"""A state's colour in a terminal's table: only what needs a look is coloured (a live run is
bold green whatever its state)."""


@dataclass(frozen=True)
class RunRow:
    """What the table shows of one run (a summary, or a run whose engine is still starting).
    `name` is the folder's name, escaped (`printable`): a copied-in folder's name is anyone's."""

    path: Path
    name: str
    state: RunState
    live: bool
    best: str
    epochs: str
    started: str
    duration: str
    reason: str = ""
    """Why an `unknown` run is unknown (`status.json missing`), escaped."""

    @property
    def key(self) -> str:
        return str(self.path.resolve())

    @classmethod
    def of(cls, summary: RunSummary) -> RunRow:
        planned = summary.epochs
        epochs = f"{summary.epochs_done}/{planned}" if planned else str(summary.epochs_done)
        return cls(
            path=summary.path,
            name=printable(summary.name),
            state=summary.state,
            live=summary.live,
            best=best_text(summary.best),
            epochs=epochs,
            started=format_started(summary.started),
            duration=format_duration(summary.duration),
            reason=summary.reason or "" if summary.state is RunState.UNKNOWN else "",
        )

    @classmethod
    def starting(cls, path: Path) -> RunRow:
        return cls(path, printable(path.name), RunState.STARTING, True, "–", "–", "–", "–")


def best_text(best: Mapping[str, object] | None) -> str:
    """`0.917 (ep 3)`; the metric is named when it is not val acc."""
    if not best or not isinstance(best.get("value"), int | float):
        return "–"
    value = float(best["value"])  # type: ignore[arg-type]
    metric = str(best.get("metric") or "val_acc")
    label = "" if metric == "val_acc" else metric.replace("_", " ") + " "
    return f"{label}{value:.3f} (ep {best.get('epoch', '?')})"


def state_text(row: RunRow) -> str:
    """`✓ done`, `? unknown (status.json missing)`: the state, and why when it is unknown."""
    return f"{row.state.mark} ({row.reason})" if row.reason else row.state.mark


def state_style(row: RunRow) -> str:
    """The rich style of a row's state in a terminal's table."""
    return "bold green" if row.live else TONE_STYLES.get(row.state.tone, "")


def cells(row: RunRow) -> tuple[str, ...]:
    return (row.name, state_text(row), row.best, row.epochs, row.duration, row.started)
