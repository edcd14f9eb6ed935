"""`hw3tui resume`: a killed or cancelled run continues as if nothing had happened."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import safetensors.torch
import torch
from click.testing import CliRunner

from hw3tui.cli import cli
from hw3tui.runs import RunDir, summarize
from hw3tui.runs.status import Status

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "tests" / "data" / "tiny.yaml")
HW3TUI = [sys.executable, "-m", "hw3tui"]
METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "batch_size", "weight_decay")
SETTINGS = [
    "--set",
    "schedule.epochs=4",
    "--set",
    "schedule.batch_size=8",
    "--set",
    "schedule.lr={cosine: {start: 0.002, end: 0.0002}}",
    "--set",
    "augment.random_crop={padding: 2}",
]


def events_of(run: RunDir) -> list[dict[str, Any]]:
    if not run.events_file.exists():
        return []
    return [json.loads(line) for line in run.events_file.read_text().splitlines() if line]


def wait_for_epoch(run: RunDir, epoch: int, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(e["type"] == "epoch_end" and e["epoch"] >= epoch for e in events_of(run)):
            return
        time.sleep(0.02)
    raise AssertionError(f"epoch {epoch} never ended in {run.path}")


def per_epoch(run: RunDir) -> dict[int, list[Any]]:
    """Each epoch's metrics, the last record of it winning (a killed epoch is run again)."""
    return {e["epoch"]: [e[m] for m in METRICS] for e in events_of(run) if e["type"] == "epoch_end"}


def final_weights(run: RunDir) -> dict[str, torch.Tensor]:
    return safetensors.torch.load_file(str(run.state_dir / "model.safetensors"))


# mixup and cutmix draw per batch from their own stream; both on, with label smoothing
MIXED = [
    "--set",
    "augment.mixup={alpha: 0.4, p: 0.8}",
    "--set",
    "augment.cutmix={alpha: 1.0, p: 0.8}",
    "--set",
    "loss.label_smoothing=0.1",
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "extra",
    [[], ["--set", "ema={decay: 0.9, warmup_epochs: 1}"], MIXED],
    ids=["plain", "ema", "mixup-cutmix"],
)
def test_killed_and_resumed_run_ends_bit_identical(
    subprocess_env: dict[str, str], extra: list[str]
) -> None:
    settings = [*SETTINGS, *extra]
    whole = RunDir(Path("runs/whole"))
    killed = RunDir(Path("runs/killed"))
    subprocess.run(
        [*HW3TUI, "run", TINY, "--run-dir", str(whole.path), *settings],
        env=subprocess_env,
        check=True,
        capture_output=True,
    )

    child = subprocess.Popen(
        [*HW3TUI, "run", TINY, "--run-dir", str(killed.path), *settings],
        env=subprocess_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_epoch(killed, 1)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    summary = summarize(killed)
    assert summary is not None and summary.state == "killed"

    resumed = subprocess.run(
        [*HW3TUI, "resume", str(killed.path)],
        env=subprocess_env,
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    status = killed.read_status()
    assert status is not None and status.state == "done" and status.epochs_done == 4

    starts = [e for e in events_of(killed) if e["type"] == "run_start"]
    assert len(starts) == 2 and starts[1]["resumed_from_epoch"] in (1, 2)
    assert per_epoch(killed) == per_epoch(whole)
    expected = final_weights(whole)
    got = final_weights(killed)
    assert expected.keys() == got.keys()
    for key, tensor in expected.items():
        assert torch.equal(tensor, got[key]), key
    assert (whole.best_dir / "SHA256SUMS").read_bytes() == (
        killed.best_dir / "SHA256SUMS"
    ).read_bytes()
    with_ema = any(a.startswith("ema=") for a in extra)
    for name in ("ema.safetensors",) if with_ema else ():  # the average, carried over the kill
        assert (whole.state_dir / name).read_bytes() == (killed.state_dir / name).read_bytes()


@pytest.mark.slow
def test_cancelled_run_resumes_to_the_end(subprocess_env: dict[str, str]) -> None:
    run = RunDir(Path("runs/cancelled"))
    child = subprocess.Popen(
        [*HW3TUI, "run", TINY, "--run-dir", str(run.path), "--set", "schedule.epochs=6"],
        env=subprocess_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_epoch(run, 0)
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=120) == 130
    finally:
        if child.poll() is None:
            child.kill()
    status = run.read_status()
    assert status is not None and status.state == "cancelled"
    started = status.started

    result = CliRunner().invoke(cli, ["resume", str(run.path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "resuming at epoch" in result.output
    status = run.read_status()
    assert status is not None
    assert status.state == "done" and status.epochs_done == 6
    assert status.started == started and len(status.resumed) == 1
    ends = [e["epoch"] for e in events_of(run) if e["type"] == "epoch_end"]
    assert sorted(set(ends)) == list(range(6))


def test_resume_refuses_a_live_run() -> None:
    run = RunDir(Path("runs/live"))
    run.path.mkdir(parents=True)
    run.write_status(Status(pid=os.getpid()))
    (run.preset_file).write_text(Path(TINY).read_text())
    with run.lock():
        result = CliRunner().invoke(cli, ["resume", str(run.path)])
    assert result.exit_code == 2
    assert "still running" in result.output


def test_resume_refuses_a_finished_run() -> None:
    run = RunDir(Path("runs/finished"))
    run.path.mkdir(parents=True)
    run.write_status(Status(state="done"))
    run.preset_file.write_text(Path(TINY).read_text())
    result = CliRunner().invoke(cli, ["resume", "finished"])
    assert result.exit_code == 2
    assert "already finished" in result.output


def test_resume_of_something_that_is_not_a_run() -> None:
    result = CliRunner().invoke(cli, ["resume", "nowhere"])
    assert result.exit_code == 2
    assert "no such run" in result.output


def test_resume_of_a_run_that_never_started_says_so() -> None:
    run = RunDir(Path("runs/stillborn"))
    run.path.mkdir(parents=True)
    run.write_status(Status(state="failed", reason="data.train: no such folder: x"))
    result = CliRunner().invoke(cli, ["resume", str(run.path)])
    assert result.exit_code == 2
    assert "never started training" in result.output
