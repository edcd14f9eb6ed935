"""The sweep folder, and everything that reads it without Optuna (the `sweeps` list, the TUI).

sweeps/<name>-<YYYYmmdd-HHMMSS>/
  sweep.yaml        the sweep file, frozen (base absolute, --set merged into `set`)
  optuna.journal    the study (Optuna's journal file storage), unless `storage` is a URL
  runs/trial-NNN/   one ordinary run folder per trial (with `repeat: N`, one per seed:
                    runs/trial-NNN-s0 .. trial-NNN-s<N-1>, seed = the preset's seed + k);
                    sweep.yaml's `runs` puts them elsewhere (the folder several machines share)
  leaderboard.csv   trial,state,value,epoch,run,config,seed,<one column per axis>; best first
  configs.csv       one row per configuration (hw3tui.sweeps.configs); best mean first
  best.yaml         the best configuration's complete preset (seed k = 0), with its result header

A trial of the study is a configuration: its number is the `config` column, and each of its
`repeat` seeds is a run folder (`SweepDir.run_of(number, k, repeat)`).
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hw3tui.atomic import write_text_atomic
from hw3tui.preset import PresetError
from hw3tui.regular import read_text_regular
from hw3tui.runs import RunDir, RunState
from hw3tui.sweeps.model import Sweep
from hw3tui.sweeps.workers import live_workers
from hw3tui.untrusted import printable

DEFAULT_SWEEPS_DIR = Path("sweeps")
COLUMNS = ("trial", "state", "value", "epoch", "run", "config", "seed")
"""The leaderboard's first columns; one column per axis (its dotted path) follows."""

OLD_COLUMNS = COLUMNS[:5]
"""A leaderboard written before repeats (no config and seed): still read."""


class SweepDir:
    """Paths of one sweep folder."""

    def __init__(self, path: Path, runs: Path | None = None) -> None:
        self.path = path
        self._runs = runs
        """The trials' run folders' parent when known (`runs_dir` reads it from sweep.yaml)."""

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def sweep_file(self) -> Path:
        return self.path / "sweep.yaml"

    @property
    def journal(self) -> Path:
        return self.path / "optuna.journal"

    @property
    def runs_dir(self) -> Path:
        """Where the trials' run folders are: sweep.yaml's `runs` (shared by the machines of a
        sweep), else `runs` in the sweep folder; read once."""
        if self._runs is None:
            found = runs_setting(self.sweep_file)
            if found is None:
                return self.path / "runs"  # no sweep.yaml yet: asked again once there is one
            self._runs = self.path / found if found else self.path / "runs"
        return self._runs

    @property
    def setup_lock(self) -> Path:
        """The file workers lock while they set the study up: in the run folders' parent, the
        one folder every machine of the sweep shares."""
        return self.runs_dir / ".setup.lock"

    def shown_run(self, run: RunDir) -> str:
        """A run folder as the leaderboard's `run` cell: relative to the sweep folder, or
        absolute where the runs live elsewhere (`runs`)."""
        try:
            return str(run.path.relative_to(self.path))
        except ValueError:
            return os.path.normpath(run.path.absolute())

    @property
    def leaderboard_file(self) -> Path:
        return self.path / "leaderboard.csv"

    @property
    def best_file(self) -> Path:
        return self.path / "best.yaml"

    @property
    def configs_file(self) -> Path:
        return self.path / "configs.csv"

    def run_of(self, number: int, k: int = 0, repeat: int = 1) -> RunDir:
        """The run folder of trial (configuration) `number`'s seed `k` of `repeat`:
        `trial-NNN` when a configuration runs once, `trial-NNN-sK` otherwise."""
        suffix = f"-s{k}" if repeat > 1 else ""
        return RunDir(self.runs_dir / f"trial-{number:03d}{suffix}")

    @classmethod
    def create(cls, root: Path, name: str, now: datetime | None = None) -> SweepDir:
        """A new, unique `root/<name>-<YYYYmmdd-HHMMSS>` folder."""
        stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
        root.mkdir(parents=True, exist_ok=True)
        for suffix in ("", *(f"-{i}" for i in range(2, 1000))):
            path = root / f"{name}-{stamp}{suffix}"
            try:
                path.mkdir()
            except FileExistsError:
                continue
            (path / "runs").mkdir()
            return cls(path)
        raise FileExistsError(f"no free folder name for {name} in {root}")

    def load_sweep(self) -> Sweep:
        """The frozen sweep file's model (no preset checks: they were done when it started)."""
        from hw3tui.preset.yamlio import MAX_BYTES, parse, to_plain

        text = read_text_regular(self.sweep_file, limit=MAX_BYTES)
        sweep = Sweep.model_validate(to_plain(parse(text, str(self.sweep_file)).data))
        if self._runs is None:
            self._runs = self.path / (sweep.runs or "runs")
        return sweep

    @contextlib.contextmanager
    def claim(self, number: int, repeat: int = 1) -> Iterator[bool]:
        """Hold trial `number` (all its seeds) for the life of a worker's work on it; False if
        another holds it. The lock lives in its first seed's run folder.

        A killed worker's claim ends with it (flock), so `sweep resume` can take the trial over.
        """
        run = self.run_of(number, 0, repeat)
        run.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(run.path / "sweep.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield True
        finally:
            os.close(fd)


_RUNS_LINE = re.compile(r"^runs[ \t]*:", re.MULTILINE)


def runs_setting(sweep_file: Path) -> str | None:
    """sweep.yaml's `runs` as written ("" when it has none or cannot say: the default); None when
    there is no sweep.yaml to read. Cheap for the usual file (no `runs:` line, no YAML parse),
    and never an error: a hostile or broken sweep.yaml means the default."""
    from hw3tui.preset.yamlio import MAX_BYTES, parse, to_plain

    try:
        data = read_text_regular(sweep_file, limit=MAX_BYTES)
    except (OSError, ValueError):
        return None if not sweep_file.exists() else ""
    if not _RUNS_LINE.search(data):
        return ""
    try:
        plain = to_plain(parse(data, str(sweep_file)).data)
    except Exception:  # whatever a broken file raises: a reader keeps the default
        return ""
    runs = plain.get("runs") if isinstance(plain, dict) else None
    if not isinstance(runs, str) or not runs.strip() or "\0" in runs:
        return ""
    return runs


@dataclass(frozen=True)
class Row:
    """One trial on the leaderboard."""

    trial: int
    state: str
    """waiting | running | stopped (its worker was stopped; resumable) | done | pruned | failed."""
    value: float | None
    """The run's best `checkpoint.monitor` value (its status.json `best`)."""
    epoch: int | None
    run: str
    """The run folder, relative to the sweep folder."""
    params: dict[str, str]
    """Each axis's value, as written in YAML."""
    config: int = -1
    """The configuration this run is a seed of: its trial's number (left out: `trial`)."""
    seed: int | None = None
    """The run's preset `seed` (the configuration's seed + k with `repeat`)."""

    def __post_init__(self) -> None:
        if self.config < 0:
            object.__setattr__(self, "config", self.trial)

    def cells(self, axes: list[str]) -> list[str]:
        value = "" if self.value is None else f"{self.value:.6g}"
        epoch = "" if self.epoch is None else str(self.epoch)
        seed = "" if self.seed is None else str(self.seed)
        # a sweep file can come from a classmate: its values are data, never raw in a CSV
        first = [str(self.trial), self.state, value, epoch, printable(self.run)]
        return [*first, str(self.config), seed] + [
            printable(self.params.get(axis, "")) for axis in axes
        ]


ENDED = ("done", "pruned", "failed")


def ranked(rows: list[Row], *, higher_is_better: bool) -> list[Row]:
    """Best first: runs with a value by value (ties: earlier trial, then lower seed), then the
    others by number."""
    sign = -1.0 if higher_is_better else 1.0
    return sorted(
        rows,
        key=lambda r: (
            r.value is None,
            sign * r.value if r.value is not None else 0.0,
            r.trial,
            r.seed if r.seed is not None else 0,
        ),
    )


def leaderboard_text(rows: list[Row], axes: list[str]) -> str:
    """The leaderboard as CSV text (cells are plain values: axis values are the user's own
    sweep file, run names are ours)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*COLUMNS, *axes])
    for row in rows:
        writer.writerow(row.cells(axes))
    return out.getvalue()


LEADERBOARD_MAX_BYTES = 64 << 20
"""The most of a leaderboard.csv that is read (100,000 trials fit in far less)."""


def write_leaderboard(folder: SweepDir, rows: list[Row], axes: list[str]) -> None:
    write_text_atomic(folder.leaderboard_file, leaderboard_text(rows, axes))


def read_leaderboard(folder: SweepDir) -> tuple[list[str], list[Row]]:
    """The axes and rows of a sweep's leaderboard.csv (empty before its first trial)."""
    try:
        text = read_text_regular(folder.leaderboard_file, limit=LEADERBOARD_MAX_BYTES)
    except (OSError, UnicodeDecodeError):
        return [], []
    lines = list(csv.reader(io.StringIO(text)))
    if not lines:
        return [], []
    if tuple(lines[0][: len(COLUMNS)]) == COLUMNS:
        first = len(COLUMNS)
    elif tuple(lines[0][: len(OLD_COLUMNS)]) == OLD_COLUMNS:
        first = len(OLD_COLUMNS)  # a sweep from before repeats
    else:
        return [], []
    axes = lines[0][first:]
    rows = []
    for cells in lines[1:]:
        if len(cells) < first:
            continue
        with contextlib.suppress(ValueError):
            value = float(cells[2]) if cells[2] else None
            rows.append(
                Row(
                    trial=int(cells[0]),
                    state=cells[1],
                    value=value if value is None or math.isfinite(value) else None,
                    epoch=int(cells[3]) if cells[3] else None,
                    run=cells[4],
                    params=dict(zip(axes, cells[first:], strict=False)),
                    config=int(cells[5]) if first > 5 and cells[5] else -1,
                    seed=int(cells[6]) if first > 6 and cells[6] else None,
                )
            )
    return axes, rows


@dataclass(frozen=True)
class SweepSummary:
    """One row of `hw3tui sweeps` (and what the TUI's sweep list shows)."""

    path: Path
    name: str
    state: RunState
    """running (a worker holds a trial) | done (every planned trial ended) | stopped."""
    ended: int
    planned: int
    best: Row | None
    monitor: str

    def as_json(self) -> dict[str, Any]:
        best = self.best
        return {
            "path": str(self.path),
            "name": self.name,
            "state": self.state,
            "trials_ended": self.ended,
            "trials": self.planned,
            "monitor": self.monitor,
            "best": None
            if best is None
            else {"trial": best.trial, "value": best.value, "epoch": best.epoch, "run": best.run},
        }


def summarize_sweep(folder: SweepDir) -> SweepSummary | None:
    """A sweep's state from its files (None for a folder that is not a sweep)."""
    try:
        sweep = folder.load_sweep()
    except (OSError, PresetError, ValueError):
        return None
    _, rows = read_leaderboard(folder)
    ended = sum(r.state in ENDED for r in rows)
    live = bool(live_workers(folder.path)) or any(
        RunDir(folder.path / r.run).is_live() for r in rows if r.state == "running"
    )
    planned = max(sweep.planned_runs(), len(rows))  # failed runs queued again come on top
    state = RunState.RUNNING if live else (RunState.DONE if ended >= planned else RunState.STOPPED)
    with_value = [r for r in rows if r.value is not None]
    monitor = "val_acc"
    with contextlib.suppress(OSError, ValueError):
        monitor = _monitor_of(folder)
    return SweepSummary(
        folder.path,
        folder.name,
        state,
        ended,
        planned,
        with_value[0] if with_value else None,
        monitor,
    )


def _monitor_of(folder: SweepDir) -> str:
    for run_path in sorted(folder.runs_dir.iterdir()):
        status = RunDir(run_path).read_status()
        if status is not None and status.best is not None:
            return status.best["metric"]
    return "val_acc"


def list_sweeps(root: Path) -> list[SweepSummary]:
    """Every sweep under `root`, newest first."""
    if not root.is_dir():
        return []
    found = [summarize_sweep(SweepDir(p)) for p in sorted(root.iterdir()) if p.is_dir()]
    return sorted((s for s in found if s is not None), key=_started, reverse=True)


def _started(summary: SweepSummary) -> float:
    try:
        return SweepDir(summary.path).sweep_file.stat().st_mtime
    except OSError:
        return 0.0


def write_best(folder: SweepDir, text: str) -> None:
    write_text_atomic(folder.best_file, text)
