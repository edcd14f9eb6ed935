"""The lr range test's figure (`hw3tui lr-find -o lr.png`): loss against lr, log x, the suggestion
marked. Plain numbers in, no torch: the engine measures, this draws."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hw3tui.results.figures import Size, new_figure, plain, save_figure
from hw3tui.results.lr_window import loss_window


def lr_figure(
    lrs: Sequence[float],
    losses: Sequence[float],
    smoothed: Sequence[float],
    suggestion: float | None,
    path: Path,
    *,
    title: str,
    size: Size = Size(),  # noqa: B008  (a frozen dataclass: one shared default is harmless)
) -> Path:
    """Write the figure to `path` (PNG, atomically)."""
    figure = new_figure(size)
    ax = figure.add_subplot()
    ax.plot(lrs, losses, color="0.75", linewidth=1, label="loss (each step)")
    ax.plot(lrs, smoothed, color="tab:blue", linewidth=2, label="loss (smoothed)")
    if suggestion is not None:
        ax.axvline(
            suggestion, color="tab:red", linestyle="--", label=f"suggested lr {suggestion:.2g}"
        )
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    window = loss_window(smoothed)
    if window is not None:
        ax.set_ylim(*window)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    ax.set_title(plain(title, 80))
    return save_figure(figure, path, size)
