"""A sweep's per-axis data, read from its folder: what `hw3tui plot SWEEP` and the report draw.

Each run with a value (leaderboard.csv, state `done`) is a point at its value of each axis; the
axis's form in the frozen sweep.yaml says how it is drawn (`loguniform`: log x; a list or
`choice`: a strip in the file's order; `uniform`, `int`: a scatter). With `repeat: N` each
configuration of two or more done seeds gets its mean ± std (`hw3tui.sweeps.configs`, the numbers
of configs.csv). Torch-free and Optuna-free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from hw3tui.results.sweep_figures import AxisData, AxisKind, ConfigSpread, Point
from hw3tui.results.verdicts import higher_is_better
from hw3tui.sweeps.configs import config_rows
from hw3tui.sweeps.file import flow_value
from hw3tui.sweeps.folder import SweepDir, read_leaderboard, summarize_sweep
from hw3tui.sweeps.model import LogUniform, Sweep, values_of
from hw3tui.sweeps.study import PRESET_AXIS


@dataclass(frozen=True)
class SweepAxes:
    """What the per-axis figures of one sweep show."""

    name: str
    monitor: str
    higher_is_better: bool
    axes: list[AxisData]
    runs: int
    """Runs with a value (points on each figure)."""


def sweep_axes(folder: SweepDir) -> SweepAxes:
    """The per-axis data of the sweep in `folder` (its sweep.yaml must load: OSError or
    ValueError otherwise)."""
    sweep = folder.load_sweep()
    summary = summarize_sweep(folder)
    monitor = summary.monitor if summary is not None else "val_acc"
    better = higher_is_better(monitor)
    axes, rows = read_leaderboard(folder)
    done = [r for r in rows if r.state == "done" and r.value is not None]
    configs = config_rows(rows, higher_is_better=better)
    found = []
    for axis in axes:
        kind, categories = _form(sweep, axis)
        points = [
            Point(r.params.get(axis, ""), r.value, r.config) for r in done if r.value is not None
        ]
        spreads = [
            ConfigSpread(c.params.get(axis, ""), c.spread.mean, c.spread.std, c.spread.n, c.config)
            for c in configs
            if c.spread.n >= 2 and c.spread.mean is not None and c.spread.std is not None
        ]
        labels = {c: PurePath(c).name for c in categories} if axis == PRESET_AXIS else {}
        found.append(AxisData(axis, kind, points, spreads, categories, labels))
    return SweepAxes(folder.name, monitor, better, found, len(done))


def _form(sweep: Sweep, axis: str) -> tuple[AxisKind, list[str]]:
    """How `axis` is drawn, and a choice's values as the leaderboard writes them."""
    if axis == PRESET_AXIS:
        return "choice", list(sweep.presets)
    spec = sweep.axes.get(axis)
    values = values_of(spec) if spec is not None else None
    if values is not None:
        return "choice", [flow_value(v) for v in values]
    if isinstance(spec, LogUniform):
        return "log", []
    return ("linear", []) if spec is not None else ("choice", [])


def file_stem(axis: str, taken: set[str]) -> str:
    """A file name for `axis`'s figure (`schedule.lr`): its dotted path with any other character
    as `_` (an axis name is the sweep file's text), made unique among `taken` (updated)."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", axis).strip(".") or "axis"
    unique, n = stem, 2
    while unique in taken:
        unique, n = f"{stem}-{n}", n + 1
    taken.add(unique)
    return unique
