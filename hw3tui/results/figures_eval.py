"""Figures of one evaluation and of images: confusion matrix, per-class accuracy, misclassified
examples, the augmentation grid.

The confusion matrix and per-class bars draw an `EvalReport`, the very object `hw3tui eval
--json` prints, so the figure's counts are eval's counts. Images arrive as uint8 (N, H, W, 3)
arrays, already de-normalised by the engine. No torch here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hw3tui.results.eval_report import EvalReport
from hw3tui.results.figures import Size, new_figure, plain

CELL_NUMBERS_UP_TO = 20
"""Classes up to which each confusion cell shows its number (more would be unreadable)."""


def _matrix(ax: Axes, values: np.ndarray, classes: Sequence[str], *, counts: bool) -> None:
    count = len(classes)
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=max(float(values.max()), 1e-9))
    names = [plain(name, 20) for name in classes]
    ax.set_xticks(range(count), names, rotation=45 if count > 4 else 0, ha="right")
    ax.set_yticks(range(count), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if count <= CELL_NUMBERS_UP_TO:
        high = float(values.max()) / 2
        for t in range(count):
            for p in range(count):
                value = values[t, p]
                text = f"{int(value)}" if counts else f"{value:.2f}"
                colour = "white" if value > high else "black"
                ax.text(p, t, text, ha="center", va="center", color=colour, fontsize="small")
    ax.figure.colorbar(image, ax=ax, shrink=0.8)


def confusion_figure(report: EvalReport, size: Size, title: str) -> Figure:
    """Counts (left) and row-normalised rates (right): true class down, predicted across."""
    figure = new_figure(size)
    figure.set_layout_engine("constrained")
    counts_ax, rates_ax = figure.subplots(1, 2)
    counts = np.array(report.confusion, dtype=np.int64).reshape(len(report.classes), -1)
    totals = counts.sum(axis=1, keepdims=True)
    rates = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    _matrix(counts_ax, counts, report.classes, counts=True)
    counts_ax.set_title("counts")
    _matrix(rates_ax, rates, report.classes, counts=False)
    rates_ax.set_title("share of each true class")
    figure.suptitle(plain(f"{title}: accuracy {report.accuracy:.4f} on {report.images} images", 90))
    return figure


def per_class_figure(report: EvalReport, size: Size, title: str) -> Figure:
    """One bar per class: its accuracy, its image count written on it."""
    figure = new_figure(size)
    figure.set_layout_engine("constrained")
    ax = figure.subplots()
    results = report.per_class()
    values = [r.accuracy or 0.0 for r in results]
    bars = ax.bar(range(len(results)), values, color="tab:blue")
    ax.bar_label(bars, labels=[f"{r.correct}/{r.images}" for r in results], fontsize="small")
    ax.axhline(report.accuracy, color="tab:red", linestyle="--", label="overall accuracy")
    ax.set_xticks(range(len(results)), [plain(r.name, 20) for r in results], rotation=45)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("accuracy")
    ax.legend(loc="lower right", fontsize="small")
    figure.suptitle(plain(f"{title}: per-class accuracy", 80))
    return figure


def image_grid_figure(
    rows: Sequence[Sequence[np.ndarray]],
    captions: Sequence[Sequence[str]],
    size: Size,
    title: str,
    *,
    caption_colours: Sequence[Sequence[str]] | None = None,
) -> Figure:
    """Images (uint8 H, W, 3) in rows, each with its caption (already `plain`) above it."""
    figure = new_figure(size)
    figure.set_layout_engine("constrained")
    height = len(rows)
    width = max(len(row) for row in rows)
    axes = np.array(figure.subplots(height, width, squeeze=False))
    for r, row in enumerate(rows):
        for c in range(width):
            ax = axes[r, c]
            ax.set_axis_off()
            if c >= len(row):
                continue
            ax.imshow(row[c], interpolation="nearest")
            colour = caption_colours[r][c] if caption_colours else "black"
            ax.set_title(captions[r][c], fontsize="small", color=colour)
    figure.suptitle(plain(title, 90))
    return figure


def misclassified_figure(
    images: np.ndarray,
    true: Sequence[str],
    predicted: Sequence[str],
    size: Size,
    title: str,
    *,
    columns: int = 6,
) -> Figure:
    """Val images the model got wrong, as it saw them, with their true and predicted class."""
    if len(images) == 0:
        figure = new_figure(size)
        ax = figure.subplots()
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no misclassified image", ha="center", va="center")
        figure.suptitle(plain(title, 90))
        return figure
    cells = list(zip(images, true, predicted, strict=True))
    rows = [cells[i : i + columns] for i in range(0, len(cells), columns)]
    return image_grid_figure(
        [[image for image, _, _ in row] for row in rows],
        [[f"true {plain(t, 12)}\npred {plain(p, 12)}" for _, t, p in row] for row in rows],
        size,
        f"{title}: misclassified val images",
        caption_colours=[["tab:red"] * len(row) for row in rows],
    )


def flips_figure(
    broke: np.ndarray,
    broke_captions: Sequence[str],
    fixed: np.ndarray,
    fixed_captions: Sequence[str],
    counts: tuple[int, int],
    size: Size,
    title: str,
    *,
    columns: int = 6,
) -> Figure:
    """The val images that flipped between two runs: right → wrong (as B saw them: B's
    mistakes) above wrong → right (as A saw them: A's mistakes), captions already `plain`.
    `counts` are all the flips of each kind (only some may be drawn)."""
    kinds = [
        (broke, broke_captions, "tab:red"),
        (fixed, fixed_captions, "tab:green"),
    ]
    rows: list[list[np.ndarray]] = []
    captions: list[list[str]] = []
    colours: list[list[str]] = []
    for images, texts, colour in kinds:
        cells = list(zip(images, texts, strict=True))
        for start in range(0, len(cells), columns):
            row = cells[start : start + columns]
            rows.append([image for image, _ in row])
            captions.append([caption for _, caption in row])
            colours.append([colour] * len(row))
    # two lines: the runs' names (someone else's text, flattened) and the counts
    heading = (
        f"{plain(title, 90)}\n{counts[0]} right → wrong (red, as B saw them), "
        f"{counts[1]} wrong → right (green, as A saw them)"
    )
    if not rows:
        figure = new_figure(size)
        ax = figure.subplots()
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no val image flipped", ha="center", va="center")
    else:
        figure = image_grid_figure(rows, captions, size, title, caption_colours=colours)
    figure.suptitle(heading)
    return figure


def augment_figure(
    originals: np.ndarray, draws: np.ndarray, labels: Sequence[str], size: Size, title: str
) -> Figure:
    """Each row: a training image as the val transform gives it, then several augmented draws."""
    rows = [[originals[i], *draws[i]] for i in range(len(originals))]
    captions = [
        [f"{plain(labels[i], 16)} (original)", *(f"draw {j + 1}" for j in range(len(draws[i])))]
        for i in range(len(originals))
    ]
    return image_grid_figure(rows, captions, size, title)
