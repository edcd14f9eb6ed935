"""The presets on the home screen: name, file, model, data, epochs, whether it is valid."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from hw3tui.tui.widgets.columns import fit_columns

if TYPE_CHECKING:
    from hw3tui.tui.catalog import PresetEntry


class PresetsTable(DataTable[str]):
    """One row per preset file; the row key is the file's resolved path."""

    DEFAULT_CSS = """
    PresetsTable {
        height: 1fr;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Open")]

    COLUMNS = ("Preset", "File", "Model", "Data", "Epochs")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        fit_columns(self, self.COLUMNS, [])
        self.entries: dict[str, PresetEntry] = {}

    def show(self, entries: list[PresetEntry]) -> None:
        """Replace the rows, keeping the highlighted preset highlighted."""
        keep = self.highlighted.key if self.highlighted else None
        cells = [_cells(entry) for entry in entries]
        fit_columns(self, self.COLUMNS, cells)
        self.entries = {e.key: e for e in entries}
        for entry, row_cells in zip(entries, cells, strict=True):
            self.add_row(*row_cells, key=entry.key)
        if keep in self.entries:
            self.move_cursor(row=self.get_row_index(keep))

    @property
    def highlighted(self) -> PresetEntry | None:
        if not self.entries or self.cursor_row < 0 or self.cursor_row >= self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.entries.get(str(key))


def _cells(entry: PresetEntry) -> tuple[str, ...]:
    preset = entry.preset
    if preset is None:
        count = entry.problem_count
        problems = f"{count} problem{'s' if count != 1 else ''}"
        return (f"✗ {entry.name}", entry.shown, problems, "–", "–")
    data: str = preset.data.source
    if data == "shapes":
        data = f"shapes {preset.data.image_size}px"
    return (
        preset.name,
        entry.shown,
        preset.backbone.name,
        data,
        str(preset.schedule.epochs),
    )
