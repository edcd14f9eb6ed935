"""The lr finder's curve: the smoothed loss against lr (log scale), the suggestion marked.

The terminal version of `hw3tui lr-find -o lr.png` (hw3tui/results/lr_figure.py), drawn with
plotext. The x axis is log10(lr), labelled in decades (1e-07 … 1e+01).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from textual_plotext import PlotextPlot

from hw3tui.results.lr_window import loss_window

MARK = "red"


class LrPlot(PlotextPlot):
    """Smoothed loss against lr; `plot` draws a curve, `clear` says why there is none."""

    DEFAULT_CSS = """
    LrPlot {
        height: 12;
        min-height: 6;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.points: list[tuple[float, float]] = []
        """(log10 lr, smoothed loss) drawn, finite only."""
        self.marked: tuple[float, float] | None = None
        """The suggestion's point, or None."""
        self.clear("running…")

    def clear(self, why: str) -> None:
        self.points, self.marked = [], None
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(why)
        self.refresh()

    def plot(
        self, lrs: Sequence[float], smoothed: Sequence[float], suggestion: float | None
    ) -> None:
        """The curve (non-finite points left out), with a vertical line at `suggestion`."""
        self.points = [
            (math.log10(lr), loss)
            for lr, loss in zip(lrs, smoothed, strict=False)
            if lr > 0 and math.isfinite(lr) and math.isfinite(loss)
        ]
        self.marked = None
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if not self.points:
            plt.title("no finite loss to draw")
            self.refresh()
            return
        xs, ys = [x for x, _ in self.points], [y for _, y in self.points]
        plt.plot(xs, ys, marker="braille", label="smoothed loss")
        if suggestion is not None:
            at = math.log10(suggestion)
            nearest = min(self.points, key=lambda point: abs(point[0] - at))
            self.marked = (at, nearest[1])
            plt.vertical_line(at, color=MARK)
            plt.scatter([at], [nearest[1]], marker="●", color=MARK, label=f"{suggestion:.2g}")
        decades = list(range(math.ceil(min(xs)), math.floor(max(xs)) + 1))
        step = max(1, math.ceil(len(decades) / 6))  # at most about 6 labels: 80 columns
        shown = decades[::step]
        plt.xticks([float(d) for d in shown], [f"1e{d:+03d}" for d in shown])
        window = loss_window(ys)
        if window is not None:  # as the PNG figure: the diverging tail would squash the descent
            plt.ylim(*window)
        plt.xlabel("lr")
        self.refresh()
