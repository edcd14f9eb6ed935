"""Two runs side by side: what changed in their presets, how they trained, which did better.

Pure reading (no torch, no UI): the TUI's compare screen and `hw3tui compare` both build on
`compare_runs`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hw3tui.humanize import format_duration, format_started
from hw3tui.preset import Preset, PresetError, load_preset
from hw3tui.preset.diff import Change, diff
from hw3tui.runs import RunDir, RunSummary, summarize
from hw3tui.runs.history import RunHistory, history_of


@dataclass
class RunSide:
    """One run as compare sees it."""

    run: RunDir
    summary: RunSummary | None
    history: RunHistory
    preset: Preset | None
    preset_problem: str | None = None

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def state(self) -> str:
        return self.summary.state if self.summary is not None else self.history.state


def load_side(run: RunDir) -> RunSide:
    """Read one run's status, events and frozen preset."""
    preset: Preset | None = None
    problem: str | None = None
    try:
        preset = load_preset(run.preset_file).preset
    except PresetError as exc:
        problem = str(exc).splitlines()[0]
    return RunSide(run, summarize(run), history_of(run.events()), preset, problem)


@dataclass
class Comparison:
    """Runs A and B: their preset diff, their metrics side by side and their histories."""

    a: RunSide
    b: RunSide
    changes: list[Change] = field(default_factory=list)

    @property
    def same_preset(self) -> bool:
        return self.a.preset is not None and self.b.preset is not None and not self.changes

    def metric_rows(self) -> list[tuple[str, str, str]]:
        """(label, A, B) rows: the figures a student compares first."""
        rows: list[tuple[str, str, str]] = [("state", self.a.state, self.b.state)]
        for label, fill in _ROWS:
            rows.append((label, fill(self.a), fill(self.b)))
        return rows

    def epoch_rows(self, metric: str = "val_acc") -> list[tuple[int, str, str]]:
        """(epoch, A, B): one metric per epoch, `–` where a run has no such epoch."""
        a = dict(zip(*self.a.history.series(metric), strict=True))
        b = dict(zip(*self.b.history.series(metric), strict=True))
        return [(e, _num(a.get(e)), _num(b.get(e))) for e in sorted(set(a) | set(b))]

    def winner(self, metric: str = "val_acc") -> str | None:
        """`a` or `b`, whichever reached the better best value of `metric` (None on a tie)."""
        best_a, best_b = self.a.history.best_of(metric), self.b.history.best_of(metric)
        if best_a is None or best_b is None or best_a[0] == best_b[0]:
            return None
        higher_wins = metric.endswith("acc")
        return "a" if (best_a[0] > best_b[0]) == higher_wins else "b"


def compare_runs(a: RunDir, b: RunDir) -> Comparison:
    """Read both runs and diff their presets (defaults filled in, so only real changes show)."""
    left, right = load_side(a), load_side(b)
    changes = diff(left.preset, right.preset) if left.preset and right.preset else []
    return Comparison(left, right, changes)


Fill = Callable[[RunSide], str]
"""Turns one run into one cell of `metric_rows`."""


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _best(metric: str) -> Fill:
    def fill(side: RunSide) -> str:
        best = side.history.best_of(metric)
        return "–" if best is None else f"{best[0]:.3f} (epoch {best[1]})"

    return fill


def _last(metric: str) -> Fill:
    def fill(side: RunSide) -> str:
        _, values = side.history.series(metric)
        return _num(values[-1]) if values else "–"

    return fill


def _epochs(side: RunSide) -> str:
    done = side.history.epochs_done
    planned = side.summary.epochs if side.summary and side.summary.epochs else None
    planned = planned or side.history.epochs_planned
    if planned is None and side.preset is not None:
        planned = side.preset.schedule.epochs
    return f"{done}/{planned}" if planned else str(done)


def _speed(side: RunSide) -> str:
    speeds = [r.images_per_s for r in side.history.epochs if r.images_per_s]
    return f"{sum(speeds) / len(speeds):.0f}" if speeds else "–"


def _duration(side: RunSide) -> str:
    return format_duration(side.summary.duration if side.summary else None)


def _started(side: RunSide) -> str:
    return format_started(side.summary.started if side.summary else None, year=True)


def _checkpoint(side: RunSide) -> str:
    best = side.history.best or (side.summary.best if side.summary else None) or {}
    return str(best.get("path") or "–")


_ROWS: list[tuple[str, Fill]] = [
    ("best val acc", _best("val_acc")),
    ("best val loss", _best("val_loss")),
    ("last train acc", _last("train_acc")),
    ("last train loss", _last("train_loss")),
    ("epochs", _epochs),
    ("images/s", _speed),
    ("duration", _duration),
    ("started", _started),
    ("checkpoint", _checkpoint),
]
