"""`hw3tui resume RUN --set schedule.*`: a finished run goes on as if planned longer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hw3tui.cli import cli
from hw3tui.preset import load_preset
from hw3tui.runs import RunDir
from hw3tui.runs.status import Status

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "tests" / "data" / "tiny.yaml")
# pinned, so both runs train alike whatever `auto` would measure for their lengths
PINNED = ["--set", "runtime.precision=fp32", "--set", "runtime.channels_last=false"]


def events_of(run: RunDir) -> list[dict[str, Any]]:
    return [json.loads(line) for line in run.events_file.read_text().splitlines() if line]


def epoch_ends(run: RunDir) -> dict[int, dict[str, Any]]:
    drop = ("time", "seconds", "images_per_s")
    return {
        e["epoch"]: {k: v for k, v in e.items() if k not in drop}
        for e in events_of(run)
        if e["type"] == "epoch_end"
    }


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_a_run_extended_from_3_to_5_epochs_equals_a_fresh_5_epoch_run() -> None:
    fresh, extended = RunDir(Path("runs/fresh")), RunDir(Path("runs/extended"))
    invoke("run", TINY, "--run-dir", str(fresh.path), "--set", "schedule.epochs=5", *PINNED)
    invoke("run", TINY, "--run-dir", str(extended.path), "--set", "schedule.epochs=3", *PINNED)
    best_before = (extended.read_status() or Status()).best

    invoke("resume", str(extended.path), "--set", "schedule.epochs=5")

    for name in ("model.safetensors", "optimizer.safetensors", "rng.safetensors"):
        assert (fresh.state_dir / name).read_bytes() == (extended.state_dir / name).read_bytes()
    sums = "SHA256SUMS"
    assert (fresh.best_dir / sums).read_bytes() == (extended.best_dir / sums).read_bytes()
    assert epoch_ends(extended) == epoch_ends(fresh)  # epochs 0-2 kept, 3-4 added
    starts = [e for e in events_of(extended) if e["type"] == "run_start"]
    assert [s.get("extended_from_epoch") for s in starts] == [None, 3]
    status = extended.read_status()
    assert status is not None and status.state == "done"
    assert (status.epochs_done, status.epochs) == (5, 5)
    assert best_before is not None and status.best is not None
    if status.best["epoch"] < 3:  # the best so far stays best unless a later epoch beat it
        assert status.best == best_before
    text = extended.preset_file.read_text()
    assert "# hw3tui extended:" in text and "schedule.epochs 3 -> 5" in text
    assert load_preset(extended.preset_file).preset.schedule.epochs == 5


def finished_run(name: str) -> RunDir:
    run = RunDir(Path("runs") / name)
    run.path.mkdir(parents=True)
    run.write_status(Status(state="done", epochs=2, epochs_done=2))
    run.preset_file.write_text(Path(TINY).read_text())
    return run


@pytest.mark.parametrize("key", ["optimizer.name=sgd", "ema.decay=0.9", "seed=3", "schedule=3"])
def test_resume_changes_only_schedule_keys(key: str) -> None:
    run = finished_run("done")
    before = run.preset_file.read_bytes()
    result = CliRunner().invoke(cli, ["resume", str(run.path), "--set", key])
    assert result.exit_code == 2, result.output
    assert f"not {key.partition('=')[0]}" in result.output and "schedule.*" in result.output
    assert run.preset_file.read_bytes() == before


def test_extending_to_no_more_epochs_than_trained_is_bad_input() -> None:
    run = finished_run("short")
    before = run.preset_file.read_bytes()
    result = CliRunner().invoke(cli, ["resume", str(run.path), "--set", "schedule.epochs=2"])
    assert result.exit_code == 2, result.output
    assert "trained 2 epochs already" in result.output
    assert run.preset_file.read_bytes() == before
