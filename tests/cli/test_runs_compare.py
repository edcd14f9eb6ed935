"""`hw3tui runs` and `hw3tui compare` on tiny runs trained once for this module."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from hw3tui import __version__
from hw3tui.cli import cli
from hw3tui.runs import RunDir
from hw3tui.runs.header import MARK, result_lines, stamp_result, strip_result
from hw3tui.runs.status import Status

pytestmark = pytest.mark.slow  # the module's runs are trained end to end


def hw3tui(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def error_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def status_of(run: Path) -> Status:
    status = RunDir(run).read_status()
    assert status is not None
    return status


@pytest.fixture
def runs_with_a_killed_one(finished_runs: Any, isolated: Path) -> Path:
    """The module's runs, plus a copy of one whose engine died without a word (status says
    running, nobody holds its lock)."""
    runs = isolated / "runs"
    shutil.copytree(finished_runs.runs_dir, runs)
    killed = RunDir(shutil.copytree(finished_runs.shapes, runs / "tiny-20200101-000000"))
    status = status_of(killed.path)
    killed.write_status(replace(status, state="running", ended=None, started=1.0))
    return runs


def test_runs_lists_every_run_with_its_state_and_best(runs_with_a_killed_one: Path) -> None:
    result = hw3tui("runs")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Run", "State", "Best", "val", "acc", "Epochs", "Time", "Started"]
    rows = {line.split()[0]: line for line in lines[2:] if line.strip()}
    assert len(rows) == 4
    for run in runs_with_a_killed_one.iterdir():
        status = status_of(run)
        row = rows[run.name]
        if run.name == "tiny-20200101-000000":
            assert "✗ killed" in row
            continue
        best = status.best
        assert "✓ done" in row
        assert f"{best['value']:.3f} (ep {best['epoch']})" in row
        assert f"{status.epochs_done}/{status.epochs}" in row
    assert lines[-1].split()[0] == "tiny-20200101-000000"  # newest first: started long ago


def test_runs_json_parses(runs_with_a_killed_one: Path) -> None:
    result = hw3tui("runs", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert {r["name"] for r in listed} == {p.name for p in runs_with_a_killed_one.iterdir()}
    states = {r["name"]: r["state"] for r in listed}
    assert states.pop("tiny-20200101-000000") == "killed"
    assert set(states.values()) == {"done"}
    for record in listed:
        assert record["best"]["metric"] == "val_acc" and record["epochs_done"] >= 2
        assert record["duration"] is None or record["duration"] >= 0


def test_runs_in_an_empty_or_missing_folder(isolated: Path) -> None:
    result = hw3tui("runs")
    assert result.exit_code == 0 and "no runs in runs/ yet" in result.stdout
    assert json.loads(hw3tui("runs", "--json").stdout) == []
    assert "--runs-dir elsewhere: no such folder" in error_line(
        hw3tui("runs", "--runs-dir", "elsewhere")
    )


def test_compare_two_runs_shows_names_metrics_changes_and_curves(finished_runs: Any) -> None:
    a, b = finished_runs.shapes, finished_runs.faster
    result = hw3tui("compare", a, b)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert a.name in out and b.name in out
    changes = out.split("Preset changes", 1)[1]
    rows = {line.split()[0]: line.split()[1:] for line in changes.splitlines()[2:6] if line}
    assert rows["schedule.epochs"] == ["2", "3"]
    assert rows["schedule.lr"] == ["0.001", "0.01"]
    assert "data.source" not in out  # the same in both
    for run in (a, b):
        best = status_of(run).best
        assert f"{best['value']:.3f} (epoch {best['epoch']})" in out
    plot = out.split("val acc per epoch")[-1].rstrip().splitlines()
    assert plot[-1].strip() == "epoch"  # the x axis of the curves drawn below the tables
    assert f"A {a.name}" in out and f"B {b.name}" in out  # the plot's legend
    assert sum("┤" in line for line in plot) >= 5


def test_compare_three_runs_and_by_name(finished_runs: Any) -> None:
    names = [finished_runs.shapes.name, finished_runs.faster.name, finished_runs.folder.name]
    result = hw3tui("compare", *names, "--runs-dir", finished_runs.runs_dir, "--metric", "val_loss")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert all(name in out for name in names)
    source = next(line for line in out.splitlines() if line.startswith("data.source"))
    assert source.split()[1:] == ["shapes", "shapes", "imagefolder"]
    assert "val loss per epoch" in out


def test_compare_json(finished_runs: Any) -> None:
    a, b = finished_runs.shapes, finished_runs.folder
    result = hw3tui("compare", a, b, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [r["name"] for r in data["runs"]] == [a.name, b.name]
    fields = {c["field"]: c["values"] for c in data["preset_changes"]}
    assert fields["data.source"] == ["shapes", "imagefolder"]
    assert fields["data.train"] == [None, "data/train"]
    for run, record in zip((a, b), data["runs"], strict=True):
        best = status_of(run).best
        assert record["best_val_acc"] == {"value": best["value"], "epoch": best["epoch"]}
        assert data["curves"][run.name]["epochs"] == list(range(status_of(run).epochs))
    values = [status_of(r).best["value"] for r in (a, b)]
    winner = None if values[0] == values[1] else (a, b)[values.index(max(values))].name
    assert data["winner"] == winner


def test_compare_refuses_bad_runs(finished_runs: Any) -> None:
    a = finished_runs.shapes
    assert "two runs or more" in error_line(hw3tui("compare", a))
    assert "nope: no such run" in error_line(hw3tui("compare", a, "nope"))
    assert "given twice" in error_line(hw3tui("compare", a, a))


# --- the result in the frozen preset -------------------------------------------------------------


def test_a_finished_runs_preset_carries_its_result_and_still_validates(finished_runs: Any) -> None:
    tiny = (Path(__file__).resolve().parents[1] / "data" / "tiny.yaml").read_text()
    for run in (finished_runs.shapes, finished_runs.faster, finished_runs.folder):
        text = RunDir(run).preset_file.read_text()
        status = status_of(run)
        best = status.best
        epochs = status.epochs
        assert result_lines(text) == [
            f"best val acc {best['value']:.4f} at epoch {best['epoch']} "
            f"({epochs}/{epochs} epochs, done)",
            f"run {run.name} · hw3tui {__version__} · {_utc(status.ended)}",
        ]
        assert text.startswith(MARK)
        result = hw3tui("validate", RunDir(run).preset_file)
        assert result.exit_code == 0, result.output
    assert strip_result(RunDir(finished_runs.shapes).preset_file.read_text()) == tiny


def test_a_resumed_run_replaces_its_result(finished_runs: Any, isolated: Path) -> None:
    run = RunDir(shutil.copytree(finished_runs.shapes, isolated / "runs" / "tiny-resumed"))
    status = status_of(run.path)
    run.write_status(replace(status, state="cancelled", reason="SIGINT after epoch 1"))
    stamp_result(run)
    assert "(2/2 epochs, cancelled)" in result_lines(run.preset_file.read_text())[0]

    result = hw3tui("resume", run.path)
    assert result.exit_code == 0, result.output
    text = run.preset_file.read_text()
    assert "(2/2 epochs, done)" in result_lines(text)[0]
    assert text.count(MARK) == 2
    assert hw3tui("validate", run.preset_file).exit_code == 0


def _utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
