"""configs.csv: one row per configuration of a sweep, its seeds' spread and its verdict.

A configuration is a trial of the study (a grid point, a queued preset, a random or tpe draw);
with `repeat: N` it ran N seeds, each a leaderboard row (same `config`, its own `seed`). Each
configuration's values are the best `checkpoint.monitor` values of its seeds that ended `done`
(a pruned or failed seed has no value here). The best configuration is the best mean among
those whose every seed is done; each other row says how it differs from the best, with the 95 %
interval and the word of `hw3tui.results.verdicts` (paired by seed: every configuration runs the
same seeds). Read from the leaderboard rows alone: no Optuna, so the TUI and the sweep's final
table compute the same table as the worker that writes the file.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from hw3tui.atomic import write_text_atomic
from hw3tui.results.verdicts import Spread, Verdict, spread, verdict
from hw3tui.sweeps.folder import Row, SweepDir
from hw3tui.untrusted import printable

CONFIG_COLUMNS = ("config", "n", "mean", "std", "min", "max", "delta", "low", "high", "verdict")
"""configs.csv's first columns; one column per axis (its dotted path) follows."""


@dataclass(frozen=True)
class ConfigRow:
    """One configuration: its seeds' values, their spread, and its verdict against the best."""

    config: int
    values: dict[int, float]
    """Seed -> best monitored value, for the seeds that ended done."""
    spread: Spread
    complete: bool
    """Every seed of it ended done (only such a configuration can be the best)."""
    verdict: Verdict | None
    """Against the best configuration; None for the best itself and for one with no value."""
    word: str
    """`best`, `better`, `worse`, `within noise`, `one seed`, or empty (no value yet)."""
    params: dict[str, str]

    def cells(self, axes: list[str]) -> list[str]:
        s, v = self.spread, self.verdict
        numbers = [s.mean, s.std, s.low, s.high]
        if self.word == "best":
            numbers += [0.0, None, None]
        else:
            numbers += [v.delta, v.low, v.high] if v is not None else [None, None, None]
        return [
            str(self.config),
            str(s.n),
            *(_number(x) for x in numbers),
            self.word,
            *(printable(self.params.get(axis, "")) for axis in axes),
        ]


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def config_rows(rows: list[Row], *, higher_is_better: bool) -> list[ConfigRow]:
    """The configurations of these leaderboard rows: complete ones by mean (best first, ties
    by config), then the others with a value by mean, then those without."""
    grouped: dict[int, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row.config, []).append(row)
    found = []
    for config, runs in grouped.items():
        values = {
            r.seed if r.seed is not None else k: r.value
            for k, r in enumerate(runs)
            if r.state == "done" and r.value is not None
        }
        complete = bool(runs) and all(r.state == "done" for r in runs)
        found.append((config, values, spread(values.values()), complete, runs[0].params))
    sign = -1.0 if higher_is_better else 1.0
    found.sort(
        key=lambda c: (
            c[2].mean is None,
            not c[3],
            sign * c[2].mean if c[2].mean is not None else 0.0,
            c[0],
        )
    )
    best = found[0] if found and found[0][2].mean is not None else None
    out = []
    for config, values, stats, complete, params in found:
        if best is not None and config == best[0]:
            out.append(ConfigRow(config, values, stats, complete, None, "best", params))
        elif best is None or stats.mean is None:
            out.append(ConfigRow(config, values, stats, complete, None, "", params))
        else:
            said = verdict(best[1], values, higher_is_better=higher_is_better)
            out.append(ConfigRow(config, values, stats, complete, said, said.word, params))
    return out


def configs_text(configs: list[ConfigRow], axes: list[str]) -> str:
    """configs.csv's text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CONFIG_COLUMNS, *axes])
    for config in configs:
        writer.writerow(config.cells(axes))
    return out.getvalue()


def write_configs(folder: SweepDir, configs: list[ConfigRow], axes: list[str]) -> None:
    """Replace configs.csv atomically (a reader sees the old table or the new one)."""
    write_text_atomic(folder.configs_file, configs_text(configs, axes))
