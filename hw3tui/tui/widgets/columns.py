"""Column widths for the home screen's tables."""

from __future__ import annotations

from rich.cells import cell_len
from textual.widgets import DataTable


def fit_columns(
    table: DataTable[str], labels: tuple[str, ...], rows: list[tuple[str, ...]]
) -> None:
    """Empty `table` and give it columns as wide as their widest cell.

    Widths are set, not measured by the table: a table filled before its first idle moment
    otherwise draws with the header's widths until something else redraws it.
    """
    table.clear(columns=True)
    for index, label in enumerate(labels):
        width = max([cell_len(label), *(cell_len(r[index]) for r in rows)])
        table.add_column(label, width=width, key=label)
