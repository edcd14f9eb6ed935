"""A small line plot of per-epoch series (loss, accuracy, a schedule), drawn with plotext."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual_plotext import PlotextPlot


@dataclass(frozen=True)
class Series:
    """One line: its legend label, x values (epochs) and y values."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    color: str | None = None


class Curves(PlotextPlot):
    """Plots a few series against epochs (the x axis); `empty` says why there is nothing yet."""

    DEFAULT_CSS = """
    Curves {
        height: 1fr;
        min-height: 5;
    }
    """

    def __init__(
        self,
        title: str,
        *,
        empty: str = "waiting for the first epoch…",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.heading = title
        self.empty = empty
        self.series: list[Series] = []
        self._draw()

    def plot(self, series: Sequence[Series], *, empty: str | None = None) -> None:
        """Redraw with `series` (only when they changed: plotext is not free)."""
        series = [s for s in series if len(s.xs)]
        if empty is not None:
            self.empty = empty
        if series == self.series and empty is None:
            return
        self.series = list(series)
        self._draw()
        self.refresh()

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.heading if self.series else f"{self.heading}: {self.empty}")
        every_x = sorted({float(x) for s in self.series for x in s.xs})
        for series in self.series:
            plt.plot(
                list(series.xs),
                list(series.ys),
                label=series.label if len(self.series) > 1 else None,
                marker="braille",
                color=series.color,
            )
        if every_x and len(every_x) <= 12 and all(x.is_integer() for x in every_x):
            plt.xticks(every_x, [str(int(x)) for x in every_x])
