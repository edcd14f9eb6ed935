"""An ablation's table on the sweep screen: ablation.csv as it stands, each verdict coloured."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from hw3tui.results.ablation import COLUMNS

TONES = {"better": "green", "worse": "red", "within noise": "dim", "one seed": "blue"}


class AblationTable(DataTable[Text]):
    """One row per variant (the full preset first); hidden until the sweep has ablation.csv."""

    DEFAULT_CSS = """
    AblationTable {
        height: auto;
        max-height: 40%;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.rows_shown: list[list[str]] = []
        self.add_columns(*COLUMNS)

    def show(self, rows: list[list[str]]) -> None:
        """Replace the rows (cells already escaped, from `read_ablation`)."""
        self.display = bool(rows)
        if rows == self.rows_shown:
            return
        self.rows_shown = rows
        self.clear()
        for cells in rows:
            verdict = cells[-1]
            self.add_row(
                *(Text(c) for c in cells[:-1]), Text(verdict, style=TONES.get(verdict, ""))
            )
