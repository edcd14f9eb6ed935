"""The runs on the home screen: state (live ones marked), best val acc, epochs, start, duration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from hw3tui.humanize import format_duration, format_started
from hw3tui.tui.widgets.columns import fit_columns

if TYPE_CHECKING:
    from hw3tui.runs import RunSummary

STATE_MARKS = {
    "running": "● running",
    "starting": "● starting",
    "done": "✓ done",
    "failed": "✗ failed",
    "cancelled": "■ cancelled",
    "killed": "✗ killed",
}


@dataclass(frozen=True)
class RunRow:
    """What the table shows of one run (a summary, or a run whose engine is still starting)."""

    path: Path
    name: str
    state: str
    live: bool
    best: str
    epochs: str
    started: str
    duration: str

    @property
    def key(self) -> str:
        return str(self.path.resolve())

    @classmethod
    def of(cls, summary: RunSummary) -> RunRow:
        planned = summary.epochs
        epochs = f"{summary.epochs_done}/{planned}" if planned else str(summary.epochs_done)
        return cls(
            path=summary.path,
            name=summary.name,
            state=summary.state,
            live=summary.live,
            best=best_text(summary.best),
            epochs=epochs,
            started=format_started(summary.started),
            duration=format_duration(summary.duration),
        )

    @classmethod
    def starting(cls, path: Path) -> RunRow:
        return cls(path, path.name, "starting", True, "–", "–", "–", "–")


def best_text(best: dict[str, object] | None) -> str:
    """`0.917 (ep 3)`; the metric is named when it is not val acc."""
    if not best or not isinstance(best.get("value"), int | float):
        return "–"
    value = float(best["value"])  # type: ignore[arg-type]
    metric = str(best.get("metric") or "val_acc")
    label = "" if metric == "val_acc" else metric.replace("_", " ") + " "
    return f"{label}{value:.3f} (ep {best.get('epoch', '?')})"


class RunsTable(DataTable[str]):
    """One row per run directory; the row key is its resolved path."""

    DEFAULT_CSS = """
    RunsTable {
        height: 1fr;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Open")]

    COLUMNS = ("Run", "State", "Best val acc", "Epochs", "Time", "Started")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        fit_columns(self, self.COLUMNS, [])
        self.rows_shown: dict[str, RunRow] = {}

    def show(self, rows: list[RunRow]) -> None:
        """Update the rows (a live run's cells in place; the cursor stays on its run)."""
        if [r.key for r in rows] == list(self.rows_shown) and all(
            cell_len(cell) <= column.width
            for row in rows
            for cell, column in zip(_cells(row), self.columns.values(), strict=True)
        ):
            for row in rows:
                if row != self.rows_shown[row.key]:
                    for column, value in zip(self.columns, _cells(row), strict=True):
                        self.update_cell(row.key, column, value)
            self.rows_shown = {r.key: r for r in rows}
            return
        keep = self.highlighted.key if self.highlighted else None
        cells = [_cells(row) for row in rows]
        fit_columns(self, self.COLUMNS, cells)
        self.rows_shown = {r.key: r for r in rows}
        for row, row_cells in zip(rows, cells, strict=True):
            self.add_row(*row_cells, key=row.key)
        if keep in self.rows_shown:
            self.move_cursor(row=self.get_row_index(keep))

    @property
    def highlighted(self) -> RunRow | None:
        if not self.rows_shown or self.cursor_row < 0 or self.cursor_row >= self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.rows_shown.get(str(key))


def _cells(row: RunRow) -> tuple[str, ...]:
    state = STATE_MARKS.get(row.state, row.state)
    return (row.name, state, row.best, row.epochs, row.duration, row.started)
