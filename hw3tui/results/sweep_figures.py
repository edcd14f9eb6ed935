"""A sweep's figures: each trial's value against each axis, and the axes' importances.

Per axis: a scatter for a range (`uniform`, `int`; log x for `loguniform`), a strip for a list
of values or a `choice` (the values in the sweep file's order, points spread sideways so equal
values stay visible). With `repeat: N` each configuration's seeds are its points and its mean ±
std (sample std) is drawn over them. The data is handed in (`hw3tui.sweeps.analysis` reads the
sweep folder): no run folder or Optuna here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from matplotlib.figure import Figure

from hw3tui.results.figures import Size, new_figure, plain

AxisKind = Literal["linear", "log", "choice"]


@dataclass(frozen=True)
class Point:
    """One run: its value of the axis (as the leaderboard writes it) and its best value."""

    x: str
    value: float
    config: int


@dataclass(frozen=True)
class ConfigSpread:
    """One configuration's seeds (two or more): its value of the axis, mean and std."""

    x: str
    mean: float
    std: float
    n: int
    config: int


@dataclass(frozen=True)
class AxisData:
    axis: str
    kind: AxisKind
    points: list[Point]
    spreads: list[ConfigSpread] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    """A choice axis's values in order (values seen but not listed are added after them)."""
    labels: dict[str, str] = field(default_factory=dict)
    """A shorter label of a category (a queued preset's file name); else the value itself."""


SPREAD = 0.3
"""The width, in categories, over which a strip's points and a category's spreads are laid."""


def _number(text: str, kind: AxisKind) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    if not math.isfinite(x) or (kind == "log" and x <= 0):
        return None
    return x


def _offsets(count: int) -> list[float]:
    """`count` evenly spaced sideways offsets centred on 0 (deterministic: no random jitter)."""
    if count <= 1:
        return [0.0] * count
    return [-SPREAD / 2 + SPREAD * i / (count - 1) for i in range(count)]


def axis_figure(data: AxisData, size: Size, *, metric: str, higher_is_better: bool) -> Figure:
    """Each run's best `metric` against `data.axis`; configurations' mean ± std over seeds."""
    figure = new_figure(size)
    figure.set_layout_engine("constrained")
    ax = figure.subplots()
    shown_mean = False
    if data.kind == "choice":
        order = [*data.categories, *sorted({p.x for p in data.points} - set(data.categories))]
        where = {c: i for i, c in enumerate(order)}
        spreads = {s.config: s for s in data.spreads}
        for category in order:
            # one slot per configuration: its seeds' points and their mean ± std side by side
            mine = [p for p in data.points if p.x == category]
            configs = sorted({p.config for p in mine})
            slot = dict(zip(configs, _offsets(len(configs)), strict=True))
            for p in mine:
                ax.plot(where[category] + slot[p.config], p.value, "o", color="tab:blue", alpha=0.6)
            for config in configs:
                if (s := spreads.get(config)) is not None:
                    x = where[category] + slot[config] + SPREAD / 20
                    label = None if shown_mean else "mean ± std over seeds"
                    ax.errorbar(
                        x, s.mean, yerr=s.std, fmt="s", color="black", capsize=4, label=label
                    )
                    shown_mean = True
        ax.set_xticks(range(len(order)))
        ax.set_xticklabels([plain(data.labels.get(c, c), 24) for c in order])
        ax.set_xlim(-0.6, len(order) - 0.4)
    else:
        xs = [(_number(p.x, data.kind), p.value) for p in data.points]
        points = [(x, y) for x, y in xs if x is not None]
        ax.plot([x for x, _ in points], [y for _, y in points], "o", color="tab:blue", alpha=0.6)
        for s in data.spreads:
            at = _number(s.x, data.kind)
            if at is not None:
                ax.errorbar(
                    at,
                    s.mean,
                    yerr=s.std,
                    fmt="s",
                    color="black",
                    capsize=4,
                    label=None if shown_mean else "mean ± std over seeds",
                )
                shown_mean = True
        if data.kind == "log":
            ax.set_xscale("log")
    if shown_mean:
        ax.legend(loc="best", fontsize="small")
    if not data.points:
        ax.text(
            0.5,
            0.5,
            "no trial has a value yet",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color="0.4",
        )
    ax.set_xlabel(plain(data.axis, 60) + (" (log scale)" if data.kind == "log" else ""))
    better = "higher" if higher_is_better else "lower"
    ax.set_ylabel(f"best {metric.replace('_', ' ')} ({better} is better)")
    ax.grid(alpha=0.3)
    runs = len(data.points)
    figure.suptitle(plain(f"{data.axis}: {runs} run{'s' if runs != 1 else ''}", 80))
    return figure


def importances_figure(
    importances: Sequence[tuple[str, float]], size: Size, *, evaluator: str, trials: int
) -> Figure:
    """Horizontal bars of each axis's importance, the largest on top."""
    figure = new_figure(size)
    figure.set_layout_engine("constrained")
    ax = figure.subplots()
    names = [plain(axis, 40) for axis, _ in importances][::-1]
    shares = [share for _, share in importances][::-1]
    bars = ax.barh(range(len(names)), shares, height=0.5, color="tab:blue")
    ax.bar_label(bars, labels=[f"{s:.2f}" for s in shares], padding=3)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names)
    ax.set_xlim(0, max(1.0, *shares) * 1.1)
    ax.set_xlabel("importance (sums to 1)")
    ax.grid(axis="x", alpha=0.3)
    figure.suptitle(f"hyperparameter importance ({evaluator}, {trials} completed trials)")
    return figure
