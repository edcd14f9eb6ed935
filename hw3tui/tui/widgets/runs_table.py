"""The runs on the home screen: state (live ones marked), best val acc, epochs, start, duration."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.markup import escape
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from hw3tui.console.run_rows import COLUMNS, RunRow
from hw3tui.console.run_rows import cells as shown_cells
from hw3tui.tui.widgets.columns import fit_columns

if TYPE_CHECKING:
    pass


def row_cells(row: RunRow) -> tuple[str, ...]:
    """The row's cells as a DataTable takes them: markup (`[b]` in a folder's name) escaped."""
    return tuple(escape(cell) for cell in shown_cells(row))


class RunsTable(DataTable[str]):
    """One row per run directory; the row key is its resolved path."""

    DEFAULT_CSS = """
    RunsTable {
        height: 1fr;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Open")]

    COLUMNS = COLUMNS

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        fit_columns(self, self.COLUMNS, [])
        self.rows_shown: dict[str, RunRow] = {}

    def show(self, rows: list[RunRow]) -> None:
        """Update the rows (a live run's cells in place; the cursor stays on its run)."""
        if [r.key for r in rows] == list(self.rows_shown) and all(
            cell_len(cell) <= column.width
            for row in rows
            for cell, column in zip(row_cells(row), self.columns.values(), strict=True)
        ):
            for row in rows:
                if row != self.rows_shown[row.key]:
                    for column, value in zip(self.columns, row_cells(row), strict=True):
                        self.update_cell(row.key, column, value)
            self.rows_shown = {r.key: r for r in rows}
            return
        keep = self.highlighted.key if self.highlighted else None
        cells = [row_cells(row) for row in rows]
        fit_columns(self, self.COLUMNS, cells)
        self.rows_shown = {r.key: r for r in rows}
        for row, rowcells in zip(rows, cells, strict=True):
            self.add_row(*rowcells, key=row.key)
        if keep in self.rows_shown:
            self.move_cursor(row=self.get_row_index(keep))

    @property
    def highlighted(self) -> RunRow | None:
        if not self.rows_shown or self.cursor_row < 0 or self.cursor_row >= self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.rows_shown.get(str(key))
