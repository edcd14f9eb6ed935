"""An ablation's table on the sweep screen: ablation.csv as it stands, one row per variant, each
verdict coloured; numbers to 3 places and the interval as its half-width (a t interval is
symmetric about the difference), so the table fits 80 columns (the CSV keeps every digit)."""

from __future__ import annotations

import math

from rich.text import Text
from textual.widgets import DataTable

TONES = {"better": "green", "worse": "red", "within noise": "dim", "one seed": "blue"}
LABELS = ("variant", "n", "mean ± std", "vs full, 95 %", "verdict")


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
        self.add_columns(*LABELS)

    def show(self, rows: list[list[str]]) -> None:
        """Replace the rows (ablation.csv's cells, already escaped, from `read_ablation`)."""
        self.display = bool(rows)
        if rows == self.rows_shown:
            return
        self.rows_shown = rows
        self.clear()
        for cells in rows:
            self.add_row(*(Text(c) for c in shown(cells)[:-1]), _tone(cells[-1]))


def shown(cells: list[str]) -> list[str]:
    """ablation.csv's nine cells as the table's five."""
    choice, variant, n, mean, std, delta, low, high, verdict = cells
    name = f"{choice} ({variant})" if verdict == "reference" else variant
    spread = _number(mean) + (f" ± {_number(std)}" if std else "")
    difference = _number(delta, signed=True) if delta else ""
    half = _half_width(low, high)
    if half is not None:
        difference += f" ± {half:.3f}"
    return [name, n, spread, difference, verdict]


def _tone(verdict: str) -> Text:
    return Text(verdict, style=TONES.get(verdict, ""))


def _half_width(low: str, high: str) -> float | None:
    try:
        half = (float(high) - float(low)) / 2
    except ValueError:
        return None
    return half if math.isfinite(half) else None


def _number(text: str, *, signed: bool = False) -> str:
    try:
        value = float(text)
    except ValueError:
        return text
    if not math.isfinite(value):
        return text
    return f"{value:+.3f}" if signed else f"{value:.3f}"
