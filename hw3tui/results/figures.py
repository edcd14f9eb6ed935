"""Report figures of one run's history, and of several runs: curves, schedules, comparison.

matplotlib's object API only (`matplotlib.figure.Figure`, no pyplot, so no global figure state
and no GUI backend); matplotlib is imported by the modules that draw, which only `hw3tui plot`,
`report` and `augment` import. Figures draw data handed to them (a `RunHistory`, an
`EvalReport`, uint8 image arrays): no torch, no reading of run folders here.
Files are written through `hw3tui.atomic`: a figure is replaced whole or not at all.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from hw3tui.atomic import write_bytes_atomic
from hw3tui.runs.history import RunHistory
from hw3tui.untrusted import printable

Format = Literal["png", "svg", "pdf"]
FORMATS: tuple[Format, ...] = ("png", "svg", "pdf")
SCHEDULES = (
    ("lr", "learning rate"),
    ("batch_size", "batch size"),
    ("weight_decay", "weight decay"),
)
LABEL_CHARS = 40


@dataclass(frozen=True)
class Size:
    """A figure's size in pixels (at `dpi`; SVG and PDF keep the same proportions)."""

    width: int = 960
    height: int = 600
    dpi: int = 100


def plain(text: object, limit: int = LABEL_CHARS) -> str:
    """Someone else's string (a class name, a run name) as literal figure text: no mathtext
    (`$` is not a formula), no line breaks, control characters as escapes (`printable`: the font
    has no glyph for ESC, and matplotlib warns on stderr), at most `limit` characters."""
    flat = printable(" ".join(str(text).split()))
    flat = flat if len(flat) <= limit else flat[: limit - 1] + "…"
    return flat.replace("$", r"\$")


def new_figure(size: Size) -> Figure:
    return Figure(figsize=(size.width / size.dpi, size.height / size.dpi), dpi=size.dpi)


def save_figure(figure: Figure, path: Path, size: Size, fmt: Format = "png") -> Path:
    """Render `figure` and replace `path` with it atomically; the file is exactly `size`."""
    out = io.BytesIO()
    # SVG text stays text (searchable, and checkable by tests); no dates: same input, same file
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "hw3tui"}):
        figure.savefig(out, format=fmt, dpi=size.dpi, metadata=_metadata(fmt))
    write_bytes_atomic(path, out.getvalue())
    return path


def _metadata(fmt: Format) -> dict[str, str | None]:
    if fmt == "png":
        return {"Software": "hw3tui"}
    if fmt == "svg":
        return {"Date": None, "Creator": "hw3tui"}
    return {"CreationDate": None, "Creator": "hw3tui"}


def _epochs_axis(ax: Axes, *, label: bool = True) -> None:
    if label:
        ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)


def _note(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")


def curves_figure(history: RunHistory, size: Size, title: str) -> Figure:
    """Train and val loss (left) and accuracy (right) per epoch, the best val acc epoch marked."""
    figure = new_figure(size)
    figure.set_layout_engine("constrained")
    loss_ax, acc_ax = figure.subplots(1, 2)
    best = history.best_of("val_acc")
    for ax, kind in ((loss_ax, "loss"), (acc_ax, "acc")):
        xs_raw, ys_raw = history.series(f"val_{kind}_raw")  # with `ema`: val is the average's
        for split, style in (("train", "--"), ("val", "-")):
            xs, ys = history.series(f"{split}_{kind}")
            averaged = " (ema: best/)" if split == "val" and xs_raw else ""
            if xs:
                label = f"{split} {kind}{averaged}"
                ax.plot(xs, ys, style, marker="o", markersize=3, label=label)
        xs, ys = xs_raw, ys_raw
        if xs:
            ax.plot(xs, ys, ":", marker="x", markersize=3, label=f"val {kind} (raw weights)")
        if best is not None:
            ax.axvline(best[1], color="tab:green", linestyle=":", label=f"best epoch {best[1]}")
        _epochs_axis(ax)
        ax.set_ylabel("accuracy" if kind == "acc" else "loss")
        if history.epochs:
            ax.legend(loc="best", fontsize="small")
        else:
            _note(ax, "no finished epoch yet")
    if best is not None:
        acc_ax.plot([best[1]], [best[0]], "*", color="tab:green", markersize=12)
    figure.suptitle(plain(title, 80))
    return figure


def schedules_figure(history: RunHistory, size: Size, title: str) -> Figure:
    """The lr, batch size and weight decay each epoch started with (its `epoch_start` event)."""
    figure = new_figure(size)
    figure.set_layout_engine("constrained")
    axes = figure.subplots(3, 1, sharex=True)
    for ax, (name, label) in zip(axes, SCHEDULES, strict=True):
        xs, ys = history.schedule_used(name)
        if xs:
            ax.step(xs, ys, where="post", marker="o", markersize=3)
            if name == "lr" and min(ys) > 0 and max(ys) / min(ys) > 20:
                ax.set_yscale("log")
        else:
            _note(ax, "no epoch started yet")
        ax.set_ylabel(label)
        _epochs_axis(ax, label=name == SCHEDULES[-1][0])
    figure.suptitle(plain(f"{title}: schedules as used", 80))
    return figure


@dataclass(frozen=True)
class Curve:
    """One run's line on a comparison: its label and (epoch, value) points."""

    label: str
    epochs: Sequence[int]
    values: Sequence[float]


def comparison_figure(
    curves: Sequence[Curve], size: Size, *, metric: str = "val_acc", title: str = ""
) -> Figure:
    """Several runs' `metric` per epoch on one axis, each line labelled by its preset changes."""
    figure = new_figure(size)
    figure.set_layout_engine("constrained")
    ax = figure.subplots()
    for curve in curves:
        ax.plot(curve.epochs, curve.values, marker="o", markersize=3, label=plain(curve.label, 70))
    _epochs_axis(ax)
    ax.set_ylabel(metric.replace("_", " "))
    ax.legend(loc="best", fontsize="small")
    figure.suptitle(plain(title or f"{metric.replace('_', ' ')} per epoch", 80))
    return figure
