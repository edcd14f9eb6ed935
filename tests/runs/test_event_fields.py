"""The events and status a real training writes match their declared fields, exactly."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from hw3tui.runs import RunDir
from hw3tui.runs.events import EVENT_TYPES, FIELDS, problems


def _train_then_resume(tiny_preset: Path, tmp_path: Path) -> RunDir:
    """A tiny run, then a resume of it: every event type, both kinds of `run_start`."""
    from hw3tui.engine.training import session
    from hw3tui.preset import load_preset

    outcome = session.start_run(load_preset(tiny_preset), runs_dir=tmp_path / "runs")
    assert outcome.state == "done", outcome.reason
    (folder,) = (tmp_path / "runs").iterdir()
    run = RunDir(folder)
    status = run.read_status()
    assert status is not None
    run.write_status(replace(status, state="failed"))  # as if it died after its last epoch
    outcome = session.resume_run(run)
    assert outcome.state == "done", outcome.reason
    return run


@pytest.mark.slow
def test_every_event_a_run_writes_has_exactly_its_declared_fields(
    tiny_preset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hw3tui.engine.training import loop

    monkeypatch.setattr(loop, "PROGRESS_SECONDS", 0.0)  # a progress event every step
    run = _train_then_resume(tiny_preset, tmp_path)

    records = [json.loads(line) for line in run.events_file.read_text().splitlines()]
    assert [p for record in records for p in problems(record)] == []
    assert {r["type"] for r in records} == set(EVENT_TYPES)  # every type was checked
    starts = [r for r in records if r["type"] == "run_start"]
    assert [("resumed_from_epoch" in r, "resumed_from_step" in r) for r in starts] == [
        (False, False),
        (True, True),
    ]
    assert starts[1]["resumed_from_epoch"] == 2
    status = json.loads(run.status_file.read_text())
    assert list(status) == [
        "state", "pid", "started", "ended", "best", "preset", "backbone", "epochs",
        "epochs_done", "device", "cwd", "argv", "version", "resumed", "resumed_argv", "reason",
    ]  # fmt: skip
    assert status["state"] == "done" and status["epochs_done"] == 2 and status["reason"]
    assert problems({"type": "checkpoint", "time": 1.0, **status["best"]}) == []


def test_an_event_that_differs_from_its_declaration_is_named() -> None:
    good = {"type": "checkpoint", "time": 1.0, "epoch": 0, "metric": "val_acc", "value": 1,
            "path": "best/resnet18_best.safetensors"}  # fmt: skip
    assert problems(good) == []  # a JSON integer is a number
    assert problems({**good, "epoch": 0.5}) == ["checkpoint.epoch: 0.5 is not int"]
    assert problems({**good, "epoch": True}) == ["checkpoint.epoch: True is not int"]
    assert problems({**good, "extra": 1}) == ["checkpoint: extra is not a declared field"]
    without = {k: v for k, v in good.items() if k != "path"}
    assert problems(without) == ["checkpoint: no path"]
    end = {"type": "run_end", "time": 1.0, "state": "done", "reason": "", "best": {**good}}
    assert problems(end) == [  # `best` is a Best, not a checkpoint event
        "run_end.best: time is not a declared field",
        "run_end.best: type is not a declared field",
    ]
    assert problems({"type": "nope"}) == ["not an event: {'type': 'nope'}"]
    assert set(FIELDS) == set(EVENT_TYPES)


def test_an_old_or_hand_edited_status_still_reads_and_keeps_what_it_does_not_know(
    tmp_path: Path,
) -> None:
    run = RunDir(tmp_path)
    old = {"state": "done", "pid": 12, "started": 1, "ended": 5.5, "best": None,
           "epochs_done": 3, "epochs": True, "device": 7, "made_by": "a script"}  # fmt: skip
    run.status_file.write_text(json.dumps(old))
    status = run.read_status()
    assert status is not None
    assert (status.state, status.pid, status.started, status.ended) == ("done", 12, 1.0, 5.5)
    assert (status.epochs, status.device, status.epochs_done) == (None, None, 3)
    run.write_status(status)
    written = json.loads(run.status_file.read_text())
    assert written["made_by"] == "a script" and "epochs" not in written
    assert written["reason"] is None and "processes" not in written

    run.status_file.write_text("[1, 2]")
    assert run.read_status() is None
    run.status_file.write_text('{"state": "run')
    assert run.read_status() is None
