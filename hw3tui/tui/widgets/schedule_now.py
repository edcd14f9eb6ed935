"""The run's current lr, batch size and weight decay, and where each goes next."""

from __future__ import annotations

from textual.widgets import Static

from hw3tui.humanize import format_number
from hw3tui.preset import Preset
from hw3tui.preset.schedule import value_at
from hw3tui.runs.history import RunHistory, schedule_ahead
from hw3tui.runs.numbers import as_float

QUANTITIES = (("lr", "lr"), ("batch_size", "batch"), ("weight_decay", "w. decay"))


class ScheduleNow(Static):
    """Three lines, one per scheduled quantity: `lr       0.00126  → 0.0005 at 15`."""

    DEFAULT_CSS = """
    ScheduleNow {
        height: auto;
    }
    """

    def show(self, history: RunHistory, preset: Preset | None) -> None:
        lines = ["[b $accent]Schedule[/]"]
        current = history.current or {}
        epoch = history.current_epoch
        for field, label in QUANTITIES:
            now = as_float(current.get(field))
            if now is None and preset is not None:
                now = _first(preset, field)
            ahead = ""
            if history.end is not None:
                ahead = "finished"
            elif preset is not None:
                spec = getattr(preset.schedule, field)
                ahead = schedule_ahead(
                    spec,
                    preset.schedule.epochs,
                    epoch if epoch is not None else 0,
                    integer=field == "batch_size",
                )
            shown = "–" if now is None else format_number(now)
            # a space of its own: a long number never runs into the arrow
            lines.append(f"{label:<9}{shown:<8} [dim]{ahead}[/]")
        self.update("\n".join(lines))


def _first(preset: Preset, field: str) -> float | None:
    """The value at epoch 0, shown before the engine reports the first epoch's."""
    spec = getattr(preset.schedule, field)
    return value_at(spec, 0, preset.schedule.epochs)
