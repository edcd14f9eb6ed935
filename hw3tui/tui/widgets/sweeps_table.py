"""The sweeps on the home screen: state, trials ended of planned, best value and its trial."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from hw3tui.tui.widgets.columns import fit_columns
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    from hw3tui.sweeps.folder import SweepSummary


class SweepsTable(DataTable[str]):
    """One row per sweep folder; the row key is its resolved path."""

    DEFAULT_CSS = """
    SweepsTable {
        height: 1fr;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Open")]

    COLUMNS = ("Sweep", "State", "Trials", "Best")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        fit_columns(self, self.COLUMNS, [])
        self.sweeps: dict[str, SweepSummary] = {}

    def show(self, sweeps: list[SweepSummary]) -> None:
        """Replace the rows, keeping the highlighted sweep highlighted."""
        keep = self.highlighted
        cells = [cells_of(s) for s in sweeps]
        fit_columns(self, self.COLUMNS, cells)
        self.sweeps = {str(s.path.resolve()): s for s in sweeps}
        for key, row_cells in zip(self.sweeps, cells, strict=True):
            self.add_row(*row_cells, key=key)
        if keep is not None and str(keep.path.resolve()) in self.sweeps:
            self.move_cursor(row=self.get_row_index(str(keep.path.resolve())))

    @property
    def highlighted(self) -> SweepSummary | None:
        if not self.sweeps or self.cursor_row < 0 or self.cursor_row >= self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.sweeps.get(str(key))


def cells_of(summary: SweepSummary) -> tuple[str, ...]:
    best = summary.best
    best_text = (
        f"{printable(summary.monitor.replace('_', ' '))} {best.value:.3f} (trial {best.trial})"
        if best is not None and best.value is not None
        else "–"
    )
    return (
        escape(printable(summary.name)),
        escape(summary.state.mark),
        f"{summary.ended}/{summary.planned}",
        escape(best_text),
    )
