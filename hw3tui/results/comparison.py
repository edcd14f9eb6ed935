"""Runs side by side: what changed in their presets, how they trained, which did better.

One comparison of any number of runs, the first being the one the others are measured against:
`hw3tui compare RUN RUN ...` prints it, the TUI's compare screen shows two runs through it.
Runs whose presets are equal but for `seed` and `name` are one configuration (seeds of one
choice); each configuration after the first gets its verdict against the first
(`hw3tui.results.verdicts`). Pure reading (no torch, no UI).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from hw3tui.humanize import format_duration, format_started
from hw3tui.preset import Preset, PresetError, load_preset
from hw3tui.preset.diff import Change
from hw3tui.preset.io import effective
from hw3tui.results.verdicts import Spread, Verdict, higher_is_better, spread, verdict
from hw3tui.runs import RunDir, RunSummary, summarize
from hw3tui.runs.history import RunHistory, history_of
from hw3tui.runs.numbers import as_float

MISSING = "–"
GROUPING_IGNORES = ("seed", "name")
"""Fields that don't make a configuration: its runs differ in these and nothing else."""


@dataclass
class RunSide:
    """One run as compare sees it."""

    run: RunDir
    summary: RunSummary | None
    history: RunHistory
    preset: Preset | None
    preset_problem: str | None = None
    events_skipped: int = 0
    """Lines of events.jsonl skipped: not JSON, or not an event (NaN, Infinity, a wrong type)."""
    skipped_note: str | None = None

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def state(self) -> str:
        return self.summary.state if self.summary is not None else self.history.state

    @property
    def checkpoint(self) -> Mapping[str, Any] | None:
        """The best checkpoint: from the events, else from status.json."""
        return self.history.best or (self.summary.best if self.summary else None)

    @cached_property
    def fields(self) -> dict[str, Any] | None:
        """Its preset's every field, defaults filled in (None: preset.yaml unreadable)."""
        return effective(self.preset) if self.preset is not None else None

    def best_value(self, monitor: str) -> float | None:
        """Its best `monitor` value as status.json keeps it; None when there is none yet, when
        it is not a finite number, or when the run kept the best of another metric."""
        best = self.summary.best if self.summary is not None else None
        if best is None or best.get("metric", monitor) != monitor:
            return None
        return as_float(best.get("value"))


def load_side(run: RunDir) -> RunSide:
    """Read one run's status, events and frozen preset."""
    preset: Preset | None = None
    problem: str | None = None
    try:
        preset = load_preset(run.preset_file).preset
    except PresetError as exc:
        problem = str(exc).splitlines()[0]
    read = run.read_events()
    return RunSide(
        run,
        summarize(run),
        history_of(read.events),
        preset,
        problem,
        events_skipped=read.skipped,
        skipped_note=read.skipped_note,
    )


@dataclass(frozen=True)
class FieldValues:
    """One preset field that differs between the runs, and its value in each."""

    field: str
    values: list[Any]
    """Plain values (None where a run's preset could not be read)."""


@dataclass
class Comparison:
    """Runs in the order given: their figures side by side, their preset changes against the
    first run, their histories."""

    sides: list[RunSide]

    @property
    def names(self) -> list[str]:
        return [side.name for side in self.sides]

    def metric_rows(self) -> list[tuple[str, list[str]]]:
        """(label, one cell per run): the figures a student compares first."""
        rows = [("state", [side.state for side in self.sides])]
        return rows + [(label, [fill(side) for side in self.sides]) for label, fill in _ROWS]

    def changes(self) -> list[FieldValues]:
        """Every preset field where a run differs from the first, in preset order (defaults
        filled in, so only real changes show; runs whose preset is unreadable don't count)."""
        readable = [side.fields for side in self.sides]
        first, others = readable[0], [values for values in readable[1:] if values is not None]
        if first is None:
            return []
        return [
            FieldValues(name, [values.get(name) if values else None for values in readable])
            for name in first
            if any(values[name] != first[name] for values in others)
        ]

    def notes(self) -> list[tuple[str, str]]:
        """(run, note) for what a reader of the runs should know: a status.json that could not
        be read, lines of events.jsonl that were skipped."""
        found: list[tuple[str, str]] = []
        for side in self.sides:
            summary = side.summary
            if summary is not None and summary.state == "unknown" and summary.reason:
                found.append((side.name, summary.reason))
            if side.skipped_note:
                found.append((side.name, side.skipped_note))
        for config in self.configurations:
            for member in config.repeated:
                first = next(m for m in config.members if m.seed == member.seed and m.counted)
                note = f"seed {member.seed} again: only {self.sides[first.index].name} counts"
                found.append((self.sides[member.index].name, note))
        return found

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

    @cached_property
    def configurations(self) -> list[Configuration]:
        """The runs grouped by configuration, in the order their first run was given: equal
        presets but for `seed` and `name`. A run whose preset is unreadable is in none."""
        groups: list[tuple[dict[str, Any], list[int]]] = []
        for index, side in enumerate(self.sides):
            if side.fields is None:
                continue
            key = {k: v for k, v in side.fields.items() if k not in GROUPING_IGNORES}
            members = next((found for known, found in groups if known == key), None)
            if members is None:
                groups.append((key, [index]))
            else:
                members.append(index)
        configs: list[Configuration] = []
        for number, (key, indices) in enumerate(groups, start=1):
            reference = configs[0] if configs else None
            configs.append(_configuration(number, key, indices, self.sides, reference))
        return configs

    def configuration_of(self, index: int) -> Configuration | None:
        """The configuration of the run at `index` (None: its preset is unreadable)."""
        return next(
            (c for c in self.configurations if any(m.index == index for m in c.members)), None
        )

    def verdict_cells(self) -> list[str]:
        """One cell per run: its configuration's verdict against the first configuration."""
        cells = []
        for index in range(len(self.sides)):
            config = self.configuration_of(index)
            if config is None:
                cells.append(MISSING)
            elif config.number == 1:
                several = len(self.configurations) > 1
                cells.append("reference" if several else "same configuration")
            else:
                cells.append(config.verdict_text())
        return cells

    def as_json(self, metric: str = "val_acc") -> dict[str, Any]:
        """What `hw3tui compare --json` prints."""
        best = self.best(metric)
        return {
            "runs": [
                {
                    "name": side.name,
                    "path": str(side.run.path),
                    "state": side.state,
                    f"best_{metric}": None if b is None else {"value": b[0], "epoch": b[1]},
                    "checkpoint": side.checkpoint,
                    "preset_problem": side.preset_problem,
                    "events_skipped": side.events_skipped,
                }
                for side, b in zip(self.sides, best, strict=True)
            ],
            "metrics": dict(self.metric_rows()),
            "preset_changes": [{"field": c.field, "values": c.values} for c in self.changes()],
            "winner": None if (w := self.winner(metric)) is None else self.sides[w].name,
            "configurations": [config.as_json(self.sides) for config in self.configurations],
            "curves": {
                side.name: {"epochs": xs, metric: ys}
                for side, (xs, ys) in zip(self.sides, self.series(metric), strict=True)
            },
        }


@dataclass(frozen=True)
class Member:
    """One run of a configuration."""

    index: int
    """Its place among the runs compared (0 is A)."""
    seed: int
    value: float | None
    """Its best `checkpoint.monitor` value; None: none yet, not finite, or unreadable."""
    counted: bool
    """Whether its value is one of the configuration's: it has one, and it is the first run of
    its seed given (a seed run twice is not a second draw)."""


@dataclass(frozen=True)
class Configuration:
    """Runs of one preset that differ only in `seed` (and `name`): one choice, several draws."""

    number: int
    """1 for the reference: the configuration of the first run given."""
    members: list[Member]
    monitor: str
    """Its `checkpoint.monitor`: the value its verdict compares."""
    changes: list[Change]
    """Its preset fields that differ from the reference's (`seed`, `name` aside)."""
    spread: Spread
    verdict: Verdict | None
    """Against the reference; None for the reference itself, or when it monitors another
    metric (a val_loss is no val acc)."""
    repeated: list[Member] = field(default_factory=list)
    """Runs of a seed already counted, left out."""

    @property
    def by_seed(self) -> dict[int, float | None]:
        return {m.seed: m.value for m in self.members if m.counted}

    def mean_text(self) -> str:
        mean, std = self.spread.mean, self.spread.std
        if mean is None:
            return MISSING
        return f"{mean:.3f}" if std is None else f"{mean:.3f} ± {std:.3f}"

    def delta_text(self) -> str:
        delta = self.verdict.delta if self.verdict else None
        return MISSING if delta is None else f"{delta:+.3f}"

    def interval_text(self) -> str:
        found = self.verdict
        if found is None or found.low is None or found.high is None:
            return MISSING
        return f"[{found.low:+.3f}, {found.high:+.3f}]"

    def word(self) -> str:
        if self.number == 1:
            return "reference"
        return self.verdict.word if self.verdict else f"{MISSING} (monitors {self.monitor})"

    def method(self) -> str:
        return self.verdict.method if self.verdict else MISSING

    def verdict_text(self) -> str:
        """The verdict in one line: `better +0.091 [+0.020, +0.160] (paired t, n=3)`,
        `one seed +0.150`."""
        if self.verdict is None:
            return self.word()
        parts = [self.word(), self.delta_text()]
        if self.verdict.low is not None:
            parts.append(self.interval_text())
        if self.verdict.method != self.verdict.word:
            parts.append(f"({self.verdict.method})")
        return " ".join(p for p in parts if p != MISSING)

    def as_json(self, sides: Sequence[RunSide]) -> dict[str, Any]:
        found = self.verdict
        return {
            "config": self.number,
            "monitor": self.monitor,
            "runs": [
                {
                    "name": sides[m.index].name,
                    "path": str(sides[m.index].run.path),
                    "seed": m.seed,
                    "value": m.value,
                    "counted": m.counted,
                }
                for m in self.members
            ],
            "n": self.spread.n,
            "mean": self.spread.mean,
            "std": self.spread.std,
            "min": self.spread.low,
            "max": self.spread.high,
            "changes": [
                {"field": c.field, "reference": c.before, "value": c.after} for c in self.changes
            ],
            "verdict": None
            if found is None
            else {
                "against": 1,
                "delta": found.delta,
                "low": found.low,
                "high": found.high,
                "n": found.n,
                "word": found.word,
                "method": found.method,
            },
        }


def _configuration(
    number: int,
    key: Mapping[str, Any],
    indices: Sequence[int],
    sides: Sequence[RunSide],
    reference: Configuration | None,
) -> Configuration:
    """One configuration of the runs at `indices` (their presets equal but for seed and name),
    with its verdict against `reference` when given."""
    monitor = str(key["checkpoint.monitor"])
    members: list[Member] = []
    repeated: list[Member] = []
    seen: set[int] = set()
    for index in indices:
        side = sides[index]
        assert side.preset is not None  # grouped by its fields
        seed, value = side.preset.seed, side.best_value(monitor)
        counted = value is not None and seed not in seen
        member = Member(index, seed, value, counted)
        members.append(member)
        if counted:
            seen.add(seed)
        elif value is not None:
            repeated.append(member)
    by_seed = {m.seed: m.value for m in members if m.counted}
    changes: list[Change] = []
    found: Verdict | None = None
    if reference is not None:
        before = sides[reference.members[0].index].fields or {}
        changes = [Change(k, before.get(k), v) for k, v in key.items() if before.get(k) != v]
        if reference.monitor == monitor:
            found = verdict(reference.by_seed, by_seed, higher_is_better=higher_is_better(monitor))
    return Configuration(
        number, members, monitor, changes, spread(by_seed.values()), found, repeated
    )


def compare_runs(runs: Sequence[RunDir]) -> Comparison:
    """Read each run once (its status, events and frozen preset)."""
    if len(runs) < 2:
        raise ValueError("compare needs two runs or more")
    return Comparison([load_side(run) for run in runs])


Fill = Callable[[RunSide], str]
"""Turns one run into one cell of `metric_rows`."""


def _num(value: float | None, digits: int = 3) -> str:
    return MISSING if value is None else f"{value:.{digits}f}"


def _best(metric: str) -> Fill:
    def fill(side: RunSide) -> str:
        best = side.history.best_of(metric)
        return MISSING if best is None else f"{best[0]:.3f} (epoch {best[1]})"

    return fill


def _last(metric: str) -> Fill:
    def fill(side: RunSide) -> str:
        _, values = side.history.series(metric)
        return _num(values[-1]) if values else MISSING

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
    return f"{sum(speeds) / len(speeds):.0f}" if speeds else MISSING


def _duration(side: RunSide) -> str:
    return format_duration(side.summary.duration if side.summary else None)


def _started(side: RunSide) -> str:
    return format_started(side.summary.started if side.summary else None, year=True)


def _checkpoint(side: RunSide) -> str:
    return str((side.checkpoint or {}).get("path") or MISSING)


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
