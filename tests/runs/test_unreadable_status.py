"""A run folder whose status.json is missing or not valid JSON: one reader, one answer. `runs`,
`runs --json` and `compare` all show it as `unknown`, with the reason (the TUI's list too:
tests/tui/test_tui_untrusted.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hw3tui.cli import cli
from hw3tui.runs import RunDir, list_runs
from hw3tui.runs.status import Status

START = 1_767_225_600.0
EVENTS = [
    {"type": "run_start", "time": START, "preset": "tiny", "device": "cpu", "epochs": 1},
    {"type": "epoch_start", "time": START, "epoch": 0, "lr": 0.001},
    {"type": "epoch_end", "time": START + 1, "epoch": 0, "val_acc": 0.5, "train_acc": 0.5},
    {"type": "run_end", "time": START + 1, "state": "done", "best": None, "reason": "finished"},
]

BROKEN = {
    "missing": (None, "status.json missing"),
    "not-json": (b'{"state": "done", ', "status.json is not valid JSON"),
    "a-list": (b'["done"]', "status.json is not a JSON object"),
    "odd-state": (b'{"state": "\\u001b]0;x\\u0007"}', r"status.json: state '\x1b]0;x\x07'"),
}


def make_run(runs: Path, name: str, status: bytes | None) -> RunDir:
    run = RunDir(runs / name)
    run.path.mkdir(parents=True)
    run.preset_file.write_text("name: tiny\n")
    run.events_file.write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    if status is not None:
        run.status_file.write_bytes(status)
    return run


@pytest.fixture
def runs(isolated: Path) -> Path:
    folder = isolated / "runs"
    good = make_run(folder, "good", None)
    good.write_status(Status(state="done", started=START, ended=START + 1, epochs=1, epochs_done=1))
    for name, (status, _) in BROKEN.items():
        make_run(folder, name, status)
    (folder / "not-a-run").mkdir()  # an empty folder is no run: not listed
    return folder


def hw3tui(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_every_run_folder_is_listed_unreadable_ones_as_unknown(runs: Path) -> None:
    summaries = {s.name: s for s in list_runs(runs)}
    assert sorted(summaries) == sorted(["good", *BROKEN])
    assert summaries["good"].state == "done"
    for name, (_, reason) in BROKEN.items():
        assert summaries[name].state == "unknown"
        assert (summaries[name].reason or "").startswith(reason)


def test_runs_and_runs_json_show_unknown_with_the_reason(runs: Path) -> None:
    result = hw3tui("runs", "--runs-dir", runs)
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert "? unknown" in rows["missing"] and "? unknown" in rows["not-json"]
    assert "missing: status.json missing" in result.output
    assert "not-json: status.json is not valid JSON" in result.output
    assert "\x1b" not in result.output and "\x07" not in result.output

    result = hw3tui("runs", "--json", "--runs-dir", runs)
    listed = {run["name"]: run for run in json.loads(result.output)}
    assert listed["missing"]["state"] == "unknown"
    assert listed["missing"]["reason"] == "status.json missing"
    assert listed["not-json"]["reason"] == "status.json is not valid JSON"
    assert listed["good"]["state"] == "done"


def test_compare_shows_the_same_answer(runs: Path) -> None:
    result = hw3tui("compare", "--runs-dir", runs, "good", "missing", "not-json")
    assert result.exit_code == 0, result.output
    (state,) = [line for line in result.output.splitlines() if line.startswith("state")]
    assert state.split() == ["state", "done", "unknown", "unknown"], state
    assert "missing: status.json missing" in result.output
    assert "not-json: status.json is not valid JSON" in result.output

    result = hw3tui("compare", "--json", "--runs-dir", runs, "good", "missing")
    sides = json.loads(result.output)["runs"]
    assert [side["state"] for side in sides] == ["done", "unknown"]
