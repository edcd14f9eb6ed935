"""`hw3tui plot SWEEP` and `report SWEEP`: per-axis figures and importances (issue 23), on sweep
folders built by hand (sweep.yaml, leaderboard.csv, an Optuna journal, trial run folders): no
training."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import optuna
from click.testing import CliRunner, Result
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from PIL import Image

from hw3tui.cli import cli
from hw3tui.sweeps.folder import COLUMNS

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny.yaml"

LR = FloatDistribution(1e-4, 1e-1, log=True)
OPTIMIZER = CategoricalDistribution(["adamw", "sgd"])


def sweep_folder(root: Path, trials: list[tuple[float, str, list[float]]]) -> Path:
    """A random sweep of `schedule.lr` (loguniform) and `optimizer.name` (choice), one
    configuration per (lr, optimizer, seeds' values), `repeat` = the number of values."""
    repeat = len(trials[0][2])
    folder = root / "sweeps" / "hand-20261206-120000"
    (folder / "runs").mkdir(parents=True)
    (folder / "sweep.yaml").write_text(
        f"name: hand\nbase: {TINY}\nmethod: random\ntrials: {len(trials)}\nrepeat: {repeat}\n"
        "axes:\n  schedule.lr: {loguniform: [1.0e-4, 1.0e-1]}\n"
        "  optimizer.name: {choice: [adamw, sgd]}\n"
    )
    study = optuna.create_study(
        storage=JournalStorage(JournalFileBackend(str(folder / "optuna.journal"))),
        study_name=folder.name,
        direction="maximize",
    )
    rows = []
    for number, (lr, optimizer, values) in enumerate(trials):
        study.add_trial(
            optuna.trial.create_trial(
                params={"schedule.lr": lr, "optimizer.name": optimizer},
                distributions={"schedule.lr": LR, "optimizer.name": OPTIMIZER},
                value=float(np.mean(values)),
            )
        )
        for k, value in enumerate(values):
            run = f"runs/trial-{number:03d}" + (f"-s{k}" if repeat > 1 else "")
            (folder / run).mkdir()
            shutil.copy(TINY, folder / run / "preset.yaml")
            status = {"state": "done", "best": {"metric": "val_acc", "value": value, "epoch": 1}}
            (folder / run / "status.json").write_text(json.dumps(status))
            rows.append([number, "done", value, 1, run, number, k, f"{lr:.6g}", optimizer])
    with (folder / "leaderboard.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([*COLUMNS, "schedule.lr", "optimizer.name"])
        writer.writerows(rows)
    return folder


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def blank(path: Path) -> bool:
    with Image.open(path) as image:
        return bool(np.asarray(image.convert("RGB")).var() < 50)


# value decided by the optimizer alone: adamw ~0.9, sgd ~0.3
DECISIVE = [
    (1e-3, "adamw", [0.90, 0.92]),
    (3e-2, "sgd", [0.30, 0.34]),
    (2e-4, "sgd", [0.31, 0.29]),
    (5e-2, "adamw", [0.91, 0.89]),
    (7e-3, "sgd", [0.33, 0.30]),
    (4e-4, "adamw", [0.88, 0.93]),
]


def test_plot_sweep_draws_each_axis_and_the_importances(isolated: Path) -> None:
    folder = sweep_folder(isolated, DECISIVE)
    result = invoke("plot", str(folder), "-o", "figs", "--no-eval")
    assert result.exit_code == 0, result.output
    out = isolated / "figs" / folder.name
    for name in ("axes/schedule.lr.png", "axes/optimizer.name.png", "importances.png"):
        assert (out / name).is_file(), name
        assert not blank(out / name), name
    lines = (out / "importances.csv").read_text().splitlines()
    assert lines[0] == "axis,importance,evaluator"
    assert lines[1].startswith("optimizer.name,") and lines[1].endswith(",PED-ANOVA")
    shares = [float(line.split(",")[1]) for line in lines[1:]]
    assert abs(sum(shares) - 1.0) < 1e-4
    assert "optimizer.name explains the most" in result.output


def test_too_few_trials_say_so_and_draw_no_importances(isolated: Path) -> None:
    folder = sweep_folder(isolated, DECISIVE[:3])
    result = invoke("plot", str(folder), "-o", "figs", "--no-eval")
    assert result.exit_code == 0, result.output
    out = isolated / "figs" / folder.name
    assert (out / "axes" / "schedule.lr.png").is_file()
    assert not (out / "importances.png").exists()
    assert (out / "importances.csv").read_text() == "axis,importance,evaluator\n"
    assert "Only 3 completed trials for 2 axes" in result.output


def test_report_has_the_sweep_section(isolated: Path) -> None:
    folder = sweep_folder(isolated, DECISIVE)
    result = invoke("report", str(folder), "-o", "report")
    assert result.exit_code == 0, result.output
    text = (isolated / "report" / "report.md").read_text()
    assert f"## Sweep {folder.name}" in text
    for name in ("axes/schedule.lr.png", "axes/optimizer.name.png", "importances.png"):
        link = f"{folder.name}/{name}"
        assert f"(<{link}>)" in text, name
        assert (isolated / "report" / link).is_file()
    assert "optimizer.name explains the most" in text
    assert f"(<{folder.name}/importances.csv>)" in text
