"""Sweep folders written by tests: a leaderboard, sweep.yaml and trials' run folders (no Optuna)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from tui_fakes import TINY, write_run

from hw3tui.runs import RunDir
from hw3tui.sweeps.folder import Row, SweepDir, leaderboard_text

AXES = ["optimizer.name", "schedule.lr"]
SWEEP_NAME = "tiny-grid-20260101-000000"


def write_sweep(sweeps_dir: Path, name: str = SWEEP_NAME) -> SweepDir:
    """A 2×2 grid of tiny: trials 0-2 done (best val acc 0.55, 0.70, 0.85), trial 3 waiting."""
    folder = SweepDir(sweeps_dir / name)
    folder.runs_dir.mkdir(parents=True)
    folder.sweep_file.write_text(
        "name: tiny-grid\n"
        f"base: {TINY}\n"
        "axes:\n"
        "  optimizer.name: [sgd, adam]\n"
        "  schedule.lr: [0.001, 0.01]\n"
        "method: grid\n"
    )
    grid = [("sgd", "0.001"), ("sgd", "0.01"), ("adam", "0.001"), ("adam", "0.01")]
    gains = [0.05, 0.1, 0.15]
    rows = []
    for trial, (optimizer, lr) in enumerate(grid):
        run = f"runs/trial-{trial:03d}"
        params = {"optimizer.name": optimizer, "schedule.lr": lr}
        if trial < len(gains):
            write_run(folder.runs_dir, f"trial-{trial:03d}", epochs=4, acc_gain=gains[trial])
            value = round(0.4 + gains[trial] * 3, 4)
            rows.append(Row(trial, "done", value, 3, run, params))
        else:
            rows.append(Row(trial, "waiting", None, None, run, params))
    rows.sort(key=lambda r: (r.value is None, -(r.value or 0.0)))
    folder.leaderboard_file.write_text(leaderboard_text(rows, AXES))
    return folder


class Launches:
    """Stands in for `launch_detached`: records what would start, starts a harmless child."""

    def __init__(self) -> None:
        self.started: list[tuple[list[str], Path]] = []
        self.children: list[subprocess.Popen[bytes]] = []

    def __call__(self, args: list[str], run: RunDir, **_: Any) -> subprocess.Popen[bytes]:
        self.started.append((list(args), run.path))
        child = subprocess.Popen(["sleep", "60"])
        self.children.append(child)
        return child

    def close(self) -> None:
        for child in self.children:
            child.kill()
            child.wait()
