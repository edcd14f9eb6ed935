"""A sweep's leaderboard: one row per trial, best first, sortable by any column.

`s` sorts by the next column, `S` reverses the order; a click on a column's header sorts by it
(twice: reversed). Rank (`#`) is best value first, with running trials by their live value.

With repeats (`show(..., configs=...)`) a row is a configuration: its mean ± std over the seeds
that ended, n, and the verdict against the best configuration (`hw3tui.results.verdicts`);
Enter opens its running seed, else its first.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from rich.cells import cell_len
from rich.markup import escape
from textual import on
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from hw3tui.runs.states import marked
from hw3tui.sweeps.configs import ConfigRow
from hw3tui.tui.sweep_feed import TrialView
from hw3tui.tui.widgets.columns import fit_columns
from hw3tui.untrusted import printable

FIRST_COLUMNS = ("#", "trial", "state", "value", "epoch", "epochs")
CONFIG_COLUMNS = ("#", "config", "state", "value", "n", "verdict")
"""With repeats: `value` is the mean ± std over the configuration's seeds."""


class LeaderboardTable(DataTable[str]):
    """The row key is the trial's number; `sort_column` names the column rows are sorted by."""

    DEFAULT_CSS = """
    LeaderboardTable {
        height: 1fr;
        min-height: 4;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open trial"),
        Binding("s", "next_sort", "Sort"),
        Binding("S", "reverse_sort", "Reverse", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.axes: list[str] = []
        self.trials: list[TrialView] = []
        self.monitor = "value"
        self.sort_column = "#"
        self.reverse = False
        self.configs: dict[int, ConfigRow] = {}
        """With repeats, each configuration by number (rows are then configurations)."""
        fit_columns(self, FIRST_COLUMNS, [])

    @property
    def first_columns(self) -> tuple[str, ...]:
        return CONFIG_COLUMNS if self.configs else FIRST_COLUMNS

    @property
    def labels(self) -> tuple[str, ...]:
        first = self.first_columns
        value = f"{self.monitor} mean ± std" if self.configs else self.monitor
        return (*first[:3], value, *first[4:], *self.axes)

    def show(
        self,
        trials: list[TrialView],
        axes: list[str],
        monitor: str = "value",
        configs: list[ConfigRow] | None = None,
    ) -> None:
        """Replace the rows (in leaderboard order: best first), keeping the sort and the cursor;
        with `configs` (repeats), one row per configuration in their order."""
        self.axes, self.monitor = list(axes), monitor
        self.configs = {c.config: c for c in configs or []}
        self.trials = _grouped(trials, configs) if configs else list(trials)
        self._fill()

    def _fill(self) -> None:
        keep = self.highlighted.trial if self.highlighted else None
        ranked = {t.trial: rank for rank, t in enumerate(self.trials, start=1)}
        ordered = sorted(self.trials, key=lambda t: self._key(t, ranked[t.trial]))
        if self.reverse:
            ordered.reverse()
        cells = [
            _config_cells(t, self.configs[t.trial], ranked[t.trial], self.axes)
            if t.trial in self.configs
            else _cells(t, ranked[t.trial], self.axes)
            for t in ordered
        ]
        labels = self.labels
        shown = tuple(
            escape(printable(label))
            + (f" {'▲' if self.reverse else '▼'}" if label == self._sort_label() else "")
            for label in labels
        )
        fit_columns(self, shown, cells)
        for trial, row_cells in zip(ordered, cells, strict=True):
            self.add_row(*row_cells, key=str(trial.trial))
        if keep is not None and any(t.trial == keep for t in ordered):
            self.move_cursor(row=self.get_row_index(str(keep)))

    def _sort_label(self) -> str:
        return self.monitor if self.sort_column == "value" else self.sort_column

    def _key(self, trial: TrialView, rank: int) -> tuple[int, float, str]:
        """Missing values last; numbers by value, best first for the value column."""
        column = self.sort_column
        if column == "#":
            return (0, rank, "")
        if column == "trial":
            return (0, trial.trial, "")
        if column == "state":
            return (0, 0.0, trial.state)
        if column == "value":
            return (0, rank, "") if trial.value is not None else (1, rank, "")
        if column == "epoch":
            return (0, trial.epoch, "") if trial.epoch is not None else (1, 0.0, "")
        if column == "epochs":
            return (0, 0.0, trial.epochs)
        if column in ("n", "verdict") and trial.trial in self.configs:
            config = self.configs[trial.trial]
            return (0, -config.spread.n, "") if column == "n" else (0, 0.0, config.word)
        text = trial.row.params.get(column, "")
        if not text:
            return (1, 0.0, "")
        try:
            return (0, float(text), "")
        except ValueError:
            return (0, 0.0, text)

    @property
    def columns_in_order(self) -> list[str]:
        """The sortable columns: rank, trial, state, value, epoch, epochs (with repeats: rank,
        config, state, value, n, verdict), then each axis."""
        first = self.first_columns
        return [*first[:3], "value", *first[4:], *self.axes]

    def sort_by(self, column: str, *, reverse: bool = False) -> None:
        self.sort_column, self.reverse = column, reverse
        self._fill()

    def action_next_sort(self) -> None:
        order = self.columns_in_order
        at = order.index(self.sort_column) if self.sort_column in order else -1
        self.sort_by(order[(at + 1) % len(order)])

    def action_reverse_sort(self) -> None:
        self.sort_by(self.sort_column, reverse=not self.reverse)

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        index = event.column_index
        order = self.columns_in_order
        if 0 <= index < len(order):
            column = order[index]
            self.sort_by(column, reverse=not self.reverse if column == self.sort_column else False)

    @property
    def highlighted(self) -> TrialView | None:
        if not self.trials or self.cursor_row < 0 or self.cursor_row >= self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return next((t for t in self.trials if str(t.trial) == key), None)

    def column_texts(self, column: str) -> list[str]:
        """What one column shows, top to bottom (for tests and the help's examples)."""
        index = self.columns_in_order.index(column)
        return [str(self.get_row_at(row)[index]) for row in range(self.row_count)]


def _cells(trial: TrialView, rank: int, axes: list[str]) -> tuple[str, ...]:
    value = "–" if trial.value is None else f"{trial.value:.4f}"
    epoch = "–" if trial.epoch is None else str(trial.epoch)
    return (
        str(rank) if trial.value is not None else "",
        str(trial.trial),
        escape(marked(trial.state)),
        value,
        epoch,
        trial.epochs,
        *(_clip(trial.row.params.get(axis, "")) for axis in axes),
    )


def _grouped(trials: list[TrialView], configs: list[ConfigRow]) -> list[TrialView]:
    """One view per configuration, in the configurations' order: its running seed (else its
    lowest), valued by the configuration's mean and stated for the configuration as a whole."""
    runs: dict[int, list[TrialView]] = {}
    for trial in trials:
        runs.setdefault(trial.row.config, []).append(trial)
    out = []
    for config in configs:
        seeds = sorted(runs.get(config.config, []), key=lambda t: t.row.seed or 0)
        if not seeds:
            continue
        shown = next((t for t in seeds if t.state == "running"), seeds[0])
        states = [t.state for t in seeds]
        # the configuration as a whole: live while a seed is, else its first seed not done
        live = [s for s in ("running", "starting", "stopped") if s in states]
        state = live[0] if live else next((s for s in states if s != "done"), "done")
        out.append(replace(shown, state=state, value=config.spread.mean))
    return out


def _config_cells(
    trial: TrialView, config: ConfigRow, rank: int, axes: list[str]
) -> tuple[str, ...]:
    s = config.spread
    value = "–" if s.mean is None else f"{s.mean:.4f}"
    value += f" ± {s.std:.4f}" if s.std is not None else ""
    return (
        str(rank) if s.mean is not None else "",
        str(config.config),
        escape(marked(trial.state)),
        value,
        str(s.n),
        config.word,
        *(_clip(trial.row.params.get(axis, "")) for axis in axes),
    )


def _clip(text: str, width: int = 24) -> str:
    """An axis value as a cell: the user's text, never markup or control characters."""
    text = printable(text)
    return escape(text if cell_len(text) <= width else text[: width - 1] + "…")
