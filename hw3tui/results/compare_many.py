"""Two or more runs side by side (`hw3tui compare RUN RUN ...`), built on `hw3tui.results.compare`.

The TUI's compare screen shows two runs through `compare.Comparison`; here the first run is
compared with each of the others by that same `Comparison`, so the figures (best val acc, last
train loss, epochs, images/s, duration, ...) and the preset diff are computed in one place.
No torch, no UI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hw3tui.preset.diff import diff
from hw3tui.preset.io import effective
from hw3tui.results.compare import Comparison, RunSide, load_side
from hw3tui.runs import RunDir

MISSING = "–"


@dataclass(frozen=True)
class FieldValues:
    """One preset field that differs between the runs, and its value in each."""

    field: str
    values: list[Any]
    """Plain values (None where a run's preset could not be read)."""


@dataclass
class RunsComparison:
    """Runs in the order given; `pairs[i]` compares the first run with run `i + 1`."""

    sides: list[RunSide]
    pairs: list[Comparison]

    @property
    def names(self) -> list[str]:
        return [side.name for side in self.sides]

    def metric_rows(self) -> list[tuple[str, list[str]]]:
        """(label, one cell per run): the rows of `Comparison.metric_rows`, for every run."""
        first = self.pairs[0].metric_rows()
        rows = [(label, [a]) for label, a, _ in first]
        for pair in self.pairs:
            for (_, cells), (_, _, b) in zip(rows, pair.metric_rows(), strict=True):
                cells.append(b)
        return rows

    def changes(self) -> list[FieldValues]:
        """Every preset field that is not the same in all runs, in preset order (defaults
        filled in, so only real changes show)."""
        changed = {c.field for pair in self.pairs for c in pair.changes}
        readable = [effective(s.preset) if s.preset is not None else None for s in self.sides]
        order = next((list(values) for values in readable if values is not None), [])
        return [
            FieldValues(name, [values.get(name) if values else None for values in readable])
            for name in order
            if name in changed
        ]

    def preset_problems(self) -> list[tuple[str, str]]:
        """(run, problem) for each run whose preset.yaml could not be read."""
        return [(s.name, s.preset_problem) for s in self.sides if s.preset_problem]

    def best(self, metric: str = "val_acc") -> list[tuple[float, int] | None]:
        """Each run's best value of `metric` over its finished epochs, and that epoch."""
        return [side.history.best_of(metric) for side in self.sides]

    def winner(self, metric: str = "val_acc") -> int | None:
        """The index of the run with the best best `metric` (None: a tie, or too few runs)."""
        scored = [(b[0], i) for i, b in enumerate(self.best(metric)) if b is not None]
        if len(scored) < 2:
            return None
        higher = metric.endswith("acc")
        top = max(v for v, _ in scored) if higher else min(v for v, _ in scored)
        leaders = [i for v, i in scored if v == top]
        return leaders[0] if len(leaders) == 1 else None

    def series(self, metric: str = "val_acc") -> list[tuple[list[int], list[float]]]:
        return [side.history.series(metric) for side in self.sides]

    def epoch_rows(self, metric: str = "val_acc") -> list[tuple[int, list[float | None]]]:
        """(epoch, one value per run, None where a run has no such epoch)."""
        by_run = [dict(zip(xs, ys, strict=True)) for xs, ys in self.series(metric)]
        epochs = sorted({e for values in by_run for e in values})
        return [(e, [values.get(e) for values in by_run]) for e in epochs]

    def as_json(self, metric: str = "val_acc") -> dict[str, Any]:
        best = self.best(metric)
        return {
            "runs": [
                {
                    "name": side.name,
                    "path": str(side.run.path),
                    "state": side.state,
                    f"best_{metric}": None if b is None else {"value": b[0], "epoch": b[1]},
                    "checkpoint": side.history.best
                    or (side.summary.best if side.summary else None),
                    "preset_problem": side.preset_problem,
                }
                for side, b in zip(self.sides, best, strict=True)
            ],
            "metrics": dict(self.metric_rows()),
            "preset_changes": [{"field": c.field, "values": c.values} for c in self.changes()],
            "winner": None if (w := self.winner(metric)) is None else self.sides[w].name,
            "curves": {
                side.name: {"epochs": xs, metric: ys}
                for side, (xs, ys) in zip(self.sides, self.series(metric), strict=True)
            },
        }


def compare_many(runs: Sequence[RunDir]) -> RunsComparison:
    """Read each run once and compare the first with each of the others."""
    if len(runs) < 2:
        raise ValueError("compare needs two runs or more")
    sides = [load_side(run) for run in runs]
    first = sides[0]
    pairs = [
        Comparison(
            first,
            side,
            diff(first.preset, side.preset) if first.preset and side.preset else [],
        )
        for side in sides[1:]
    ]
    return RunsComparison(sides, pairs)
