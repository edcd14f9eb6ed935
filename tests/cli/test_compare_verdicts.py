"""`hw3tui compare` groups runs into configurations (equal presets but for `seed` and `name`) and
gives each one after the first its verdict against the first: scipy's interval, and `one seed`
where a side has a single value.

The runs are written by hand (a preset, a status with its best value, one event): no training.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from scipy import stats

from hw3tui.cli import cli
from hw3tui.runs import RunDir
from hw3tui.runs.status import Status

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny.yaml"

SLOW = {0: 0.70, 1: 0.62}
"""Best val acc of tests/data/tiny.yaml by seed."""
FAST = {0: 0.85, 1: 0.80}
"""The same with lr 0.01."""


def hw3tui(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def write_run(
    path: Path, *, seed: int, value: float | str, lr: float = 0.001, name: str = "tiny"
) -> Path:
    """A finished run: its frozen preset, one event, and status.json with its best value (a
    string is written into the JSON as it is: `NaN`)."""
    run = RunDir(path)
    path.mkdir(parents=True)
    text = (
        TINY.read_text().replace("seed: 0", f"seed: {seed}").replace("name: tiny", f"name: {name}")
    )
    run.preset_file.write_text(text.replace("lr: 0.001", f"lr: {lr}"))
    run.append_event({"type": "run_start", "time": 0.0, "preset": name, "device": "cpu"})
    best = {"epoch": 1, "metric": "val_acc", "value": 0.0, "path": "best/resnet18_best.safetensors"}
    status = {"state": "done", "pid": None, "started": 0.0, "ended": 9.0, "epochs": 2}
    run.write_status(Status.from_json(status | {"epochs_done": 2, "best": best}))
    status_file = path / "status.json"  # the value as written, `NaN` too
    status_file.write_text(status_file.read_text().replace('"value": 0.0', f'"value": {value}'))
    return path


def two_by_two(runs: Path) -> list[Path]:
    """Runs given in the order A0 B0 A1 B1: configuration 1 is tiny (lr 0.001), 2 is lr 0.01."""
    return [
        write_run(runs / "slow-0", seed=0, value=SLOW[0]),
        write_run(runs / "fast-0", seed=0, value=FAST[0], lr=0.01, name="fast"),
        write_run(runs / "slow-1", seed=1, value=SLOW[1]),
        write_run(runs / "fast-1", seed=1, value=FAST[1], lr=0.01, name="fast"),
    ]


def configurations(*args: str | Path) -> list[dict[str, Any]]:
    result = hw3tui("compare", *args, "--json")
    assert result.exit_code == 0, result.output
    found: list[dict[str, Any]] = json.loads(result.stdout)["configurations"]
    return found


def test_two_configurations_of_two_seeds_get_scipys_paired_interval(isolated: Path) -> None:
    runs = two_by_two(isolated / "runs")
    first, second = configurations(*runs)
    assert [r["name"] for r in first["runs"]] == ["slow-0", "slow-1"]
    assert [r["name"] for r in second["runs"]] == ["fast-0", "fast-1"]
    assert [r["seed"] for r in second["runs"]] == [0, 1]
    assert second["changes"] == [{"field": "schedule.lr", "reference": 0.001, "value": 0.01}]
    assert first["verdict"] is None and first["n"] == 2
    assert first["mean"] == pytest.approx(0.66)
    assert first["std"] == pytest.approx(stats.tstd(list(SLOW.values())))
    expected = stats.ttest_rel(list(FAST.values()), list(SLOW.values())).confidence_interval(0.95)
    verdict = second["verdict"]
    assert verdict["delta"] == pytest.approx(0.165)
    assert verdict["low"] == pytest.approx(expected.low)
    assert verdict["high"] == pytest.approx(expected.high)
    assert verdict["method"] == "paired t, n=2"
    assert verdict["word"] == ("within noise" if expected.low <= 0 <= expected.high else "better")

    result = hw3tui("compare", *runs)
    assert result.exit_code == 0, result.output
    table = result.stdout.split("Configurations", 1)[1]
    row = next(line for line in table.splitlines() if line.startswith("2 "))
    assert "0.825 ± 0.035" in row and "+0.165" in row
    assert f"[{expected.low:+.3f}, {expected.high:+.3f}]" in row
    assert verdict["word"] in row and "paired t, n=2" in row


def test_two_single_runs_say_one_seed_never_better(isolated: Path) -> None:
    a = write_run(isolated / "runs" / "a", seed=0, value=0.5)
    b = write_run(isolated / "runs" / "b", seed=0, value=0.9, lr=0.01)
    first, second = configurations(a, b)
    assert (first["n"], second["n"]) == (1, 1)
    assert second["verdict"]["word"] == "one seed"
    assert second["verdict"]["method"] == "one seed"
    assert second["verdict"]["delta"] == pytest.approx(0.4)
    assert second["verdict"]["low"] is None and second["verdict"]["high"] is None

    out = hw3tui("compare", a, b).stdout
    table = out.split("Configurations", 1)[1]
    row = next(line for line in table.splitlines() if line.startswith("2 "))
    assert "one seed" in row and "+0.400" in row
    assert "better" not in table


def test_nan_best_values_are_left_out(isolated: Path) -> None:
    runs = two_by_two(isolated / "runs")
    nan = write_run(isolated / "runs" / "fast-2", seed=2, value="NaN", lr=0.01, name="fast")
    _first, second = configurations(*runs, nan)
    assert second["n"] == 2 and second["mean"] == pytest.approx(0.825)
    assert second["verdict"]["method"] == "paired t, n=2"
    assert [r["value"] for r in second["runs"]] == [pytest.approx(0.85), pytest.approx(0.8), None]


def test_seeds_of_one_preset_are_one_configuration(isolated: Path) -> None:
    a = write_run(isolated / "runs" / "a", seed=0, value=0.5)
    b = write_run(isolated / "runs" / "b", seed=1, value=0.7, name="renamed")
    (only,) = configurations(a, b)
    assert only["n"] == 2 and only["mean"] == pytest.approx(0.6) and only["verdict"] is None


def test_a_sweep_folder_stands_for_its_trials(isolated: Path) -> None:
    sweep = isolated / "sweeps" / "fast-repeat"
    write_run(sweep / "runs" / "trial-000", seed=0, value=FAST[0], lr=0.01)
    write_run(sweep / "runs" / "trial-001", seed=1, value=FAST[1], lr=0.01)
    slow = [write_run(isolated / "runs" / f"slow-{s}", seed=s, value=v) for s, v in SLOW.items()]
    _first, second = configurations(*slow, sweep)
    assert [r["name"] for r in second["runs"]] == ["trial-000", "trial-001"]
    assert second["verdict"]["method"] == "paired t, n=2"
    alone = hw3tui("compare", sweep)  # a sweep's two trials are two runs
    assert alone.exit_code == 0, alone.output


def test_a_seed_run_twice_counts_once_and_says_so(isolated: Path) -> None:
    runs = two_by_two(isolated / "runs")
    again = write_run(isolated / "runs" / "fast-0-again", seed=0, value=0.99, lr=0.01)
    _first, second = configurations(*runs, again)
    assert second["n"] == 2 and second["mean"] == pytest.approx(0.825)
    assert [r["counted"] for r in second["runs"]] == [True, True, False]
    out = hw3tui("compare", *runs, again).stdout
    assert "fast-0-again: seed 0 again: only fast-0 counts" in out
