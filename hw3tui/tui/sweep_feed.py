"""Incremental reading of a sweep folder, for a worker thread: its leaderboard, each trial's run
and val-acc curve, and the sweep's own log.

The leaderboard.csv is rewritten by the sweep when a trial starts or ends; between those, a
running trial's best value and epochs come from its own run folder (status.json), so the
leaderboard on screen is live. Each trial's events.jsonl is tailed, read only where it grew.
With repeats (several runs share a trial: its seeds) the view also holds the configurations
(`hw3tui.sweeps.configs`, the same table as configs.csv) and each one's curve is its first seed's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from hw3tui.results.ablation import read_ablation
from hw3tui.results.verdicts import higher_is_better
from hw3tui.runs import EventTail, RunDir, summarize
from hw3tui.runs.history import RunHistory
from hw3tui.sweeps.configs import ConfigRow, config_rows
from hw3tui.sweeps.folder import (
    Row,
    SweepDir,
    SweepSummary,
    ranked,
    read_leaderboard,
    summarize_sweep,
)
from hw3tui.tui.feed import LogTail


@dataclass(frozen=True)
class TrialView:
    """One leaderboard row as the sweep screen shows it."""

    row: Row
    state: str
    """The leaderboard's state; a trial the study has as running is `starting` until its engine
    holds its run, and `stopped` once no worker of the sweep is left (sweep resume continues
    it)."""
    value: float | None
    epoch: int | None
    epochs: str
    """Epochs done of planned, `3/4`."""

    @property
    def trial(self) -> int:
        return self.row.trial


@dataclass
class SweepView:
    """Everything the sweep screen draws, as of one poll."""

    summary: SweepSummary | None
    axes: list[str]
    trials: list[TrialView]
    curves: dict[int, tuple[list[int], list[float]]]
    log_lines: list[str] = field(default_factory=list)
    configs: list[ConfigRow] | None = None
    """With repeats: each configuration's spread and verdict, best mean first (else None)."""
    ablation: list[list[str]] = field(default_factory=list)
    """An ablation's ablation.csv rows (escaped); empty for another sweep."""

    def same_as(self, other: SweepView | None) -> bool:
        """Nothing new to draw (the log lines are new by definition)."""
        return other is not None and not self.log_lines and self._drawn() == other._drawn()

    def _drawn(self) -> tuple[object, ...]:
        return (self.summary, self.axes, self.trials, self.curves, self.configs, self.ablation)


class SweepFeed:
    """The incremental reader of one sweep folder."""

    def __init__(self, folder: SweepDir) -> None:
        self.folder = folder
        self.log = LogTail(folder.path / "log.txt")
        self._tails: dict[str, tuple[EventTail, RunHistory]] = {}

    def poll(self) -> SweepView:
        summary = summarize_sweep(self.folder)
        axes, rows = read_leaderboard(self.folder)
        sweep_live = summary is not None and summary.state.live
        trials = [self._trial(row, sweep_live) for row in rows]
        monitor = summary.monitor if summary is not None else "val_acc"
        better = higher_is_better(monitor)
        trials = _ranked(trials, higher_is_better=better)
        first_seeds = sorted(rows, key=lambda r: (r.seed is None, r.seed or 0), reverse=True)
        curves = {row.trial: self._curve(row) for row in first_seeds}  # the lowest seed wins
        configs = None
        if len({r.trial for r in rows}) < len(rows):  # a trial with several seeds: repeats
            live = [replace(t.row, value=t.value) for t in trials]
            configs = config_rows(live, higher_is_better=better)
        ablation = read_ablation(self.folder.path / "ablation.csv")
        return SweepView(summary, axes, trials, curves, self.log.read(), configs, ablation)

    def _trial(self, row: Row, sweep_live: bool) -> TrialView:
        """The row with its run's own best and epochs (status.json: live, and at full precision,
        so trials rank the same whether their value came from the CSV or not)."""
        run = summarize(RunDir(self.folder.path / row.run))
        epochs, value, epoch = "–", row.value, row.epoch
        if run is not None:
            epochs = f"{run.epochs_done}/{run.epochs}" if run.epochs else str(run.epochs_done)
            best: Mapping[str, Any] = run.best or {}
            if isinstance(best.get("value"), int | float) and isinstance(best.get("epoch"), int):
                value, epoch = float(best["value"]), int(best["epoch"])
        state = row.state
        if state == "running" and not (run is not None and run.live):
            state = "starting" if sweep_live else "stopped"
        return TrialView(row, state, value, epoch, epochs)

    def _curve(self, row: Row) -> tuple[list[int], list[float]]:
        if row.run not in self._tails:
            events = RunDir(self.folder.path / row.run).events_file
            self._tails[row.run] = (EventTail(events), RunHistory())
        tail, history = self._tails[row.run]
        history.extend(tail.read())
        return history.series("val_acc")


def _ranked(trials: list[TrialView], *, higher_is_better: bool) -> list[TrialView]:
    """Best first by the live values (a running trial climbs as it learns), as the sweep ranks."""
    by_run = {t.row.run: t for t in trials}
    rows = [replace(t.row, value=t.value) for t in trials]
    return [by_run[r.run] for r in ranked(rows, higher_is_better=higher_is_better)]
