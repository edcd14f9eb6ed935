"""The same preset under torchrun: 2 CPU processes (gloo) on tiny data, as CI runs it.

Each run here starts three Python processes (torchrun's launcher and two ranks), so the runs are
shared where a test only reads one: `ddp_run` is trained once per module.
"""

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
import torchvision
from click.testing import CliRunner

from hw3tui.cli import cli
from hw3tui.engine.checkpoint import load_checkpoint
from hw3tui.runs import RunDir
from tests.cli.rank_ema import digest
from tests.tiny import BACKBONE, BEST

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "tests" / "data" / "tiny.yaml")
HW3TUI = [sys.executable, "-m", "hw3tui"]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "batch_size", "weight_decay")
LONG = ("--set", "schedule.epochs=200")
WAIT = 600
"""Seconds a run may take: seconds on an idle machine, far more on a busy shared one."""


def events_of(run: RunDir, kind: str) -> list[dict[str, Any]]:
    return [e for e in run.events() if e["type"] == kind]


def per_epoch(run: RunDir) -> dict[int, list[Any]]:
    """Each epoch's metrics, the last record of it winning."""
    return {e["epoch"]: [e[m] for m in METRICS] for e in events_of(run, "epoch_end")}


def only_run(runs_dir: Path) -> RunDir:
    (path,) = runs_dir.iterdir()
    return RunDir(path)


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunDir, str]:
    """tests/data/tiny.yaml trained by `torchrun --nproc-per-node 2 -m hw3tui run` (by hand, as
    a user of torchrun would), and its output."""
    root = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    done = subprocess.run(
        [*TORCHRUN, "-m", "hw3tui", "run", TINY, "--runs-dir", "runs"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return only_run(root / "runs"), done.stdout


def test_two_processes_make_one_run_whose_val_acc_one_process_reproduces(
    ddp_run: tuple[RunDir, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run, output = ddp_run
    assert output.count("epoch 1 [2/2]") == 1  # only rank 0 prints
    status = run.read_status()
    assert status is not None and status.state == "done" and status.processes == 2
    # rank 0 alone wrote the events: one start, one record per epoch
    assert len(events_of(run, "run_start")) == 1
    assert [e["epoch"] for e in events_of(run, "epoch_end")] == [0, 1]
    best = status.best
    recorded = per_epoch(run)[best["epoch"]][METRICS.index("val_acc")]
    assert best["value"] == recorded

    # one best checkpoint: plain torchvision keys (no DDP `module.` prefix)
    names = sorted(p.name for p in run.best_dir.iterdir())
    assert names[0] == "SHA256SUMS"
    assert names[1:] == [f"{BEST}.{i:03d}" for i in range(len(names) - 1)]
    state_dict, info = load_checkpoint(run.best_dir)  # checks every chunk against SHA256SUMS
    assert info.epoch == best["epoch"]
    model = torchvision.models.get_model(BACKBONE, num_classes=3)
    model.load_state_dict(state_dict, strict=True)

    # `hw3tui eval` in this one process, on the run's val set
    monkeypatch.chdir(run.path.parent.parent)
    result = CliRunner().invoke(cli, ["eval", str(run.path), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["images"] == 24  # every val image once: no padding, no duplicates
    assert report["accuracy"] == recorded


def test_crash_on_rank_1_fails_the_run_naming_it_and_resume_finishes_it_alike(
    ddp_run: tuple[RunDir, str], subprocess_env: dict[str, str]
) -> None:
    """`hw3tui run --nproc 2` starts torchrun itself; a fault on rank 1 in its second epoch ends
    the run as failed naming rank 1 (rank 0 does not wait for it); `hw3tui resume` starts two
    processes again and finishes with exactly the uninterrupted run's metrics."""
    whole, _ = ddp_run
    env = {**subprocess_env, "HW3TUI_TEST_FAULT": "1:1:1"}
    failed = subprocess.run(
        [*HW3TUI, "run", TINY, "--nproc", "2", "--runs-dir", "runs"],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "Traceback" not in failed.stdout
    assert "error: rank 1: RuntimeError: test fault after epoch 1, step 1" in failed.stderr
    run = only_run(Path("runs"))
    status = run.read_status()
    assert status is not None and status.state == "failed"
    assert status.reason.startswith("rank 1: ")
    assert events_of(run, "run_end")[-1]["state"] == "failed"
    assert [e["epoch"] for e in events_of(run, "epoch_end")] == [0]

    resumed = subprocess.run(
        [*HW3TUI, "resume", str(run.path)],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "--nproc-per-node 2" in resumed.stdout  # the resume started two processes again
    status = run.read_status()
    assert status is not None and status.state == "done" and status.processes == 2
    assert per_epoch(run) == per_epoch(whole)


EMA = ("--set", "ema.decay=0.9")
"""EMA on (its warmup, 1 epoch, copies the weights in epoch 0; epoch 1 averages)."""
RANK_EMA = str(REPO / "tests" / "cli" / "rank_ema.py")


def rank_records(folder: Path) -> dict[int, list[dict[str, Any]]]:
    """What each rank wrote at each epoch's end (tests/cli/rank_ema.py), by rank."""
    return {
        int(file.stem.removeprefix("rank")): [json.loads(line) for line in file.open()]
        for file in sorted(folder.glob("rank*.jsonl"))
    }


def torchrun_rank_ema(
    args: list[str], digests: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`hw3tui ARGS` under torchrun (2 processes, launched by hand), each rank writing down its
    EMA at each epoch's end into `digests`."""
    digests.mkdir()
    return subprocess.run(
        [*TORCHRUN, RANK_EMA, *args],
        env={**env, "RANK_EMA_DIR": str(digests)},
        capture_output=True,
        text=True,
        timeout=WAIT,
    )


def test_every_ranks_ema_is_the_same_and_a_crash_resumes_it_alike(
    subprocess_env: dict[str, str],
) -> None:
    """`ema` under torchrun: at every epoch's end each rank holds the same average, bit for bit
    (a SHA-256 of its whole state, `n_averaged` and batch-norm statistics included), and that is
    what rank 0 keeps: state/ema.safetensors and best/. Compared with each other, not with a
    one-process run, which two ranks do not reproduce bit for bit (each sees half a batch).

    Without the epoch-end broadcast the batch-norm statistics would differ (each rank averages
    its own), so each rank would evaluate its half of the val set with other weights than best/
    holds: the recorded val_acc would not be best/'s. Every rank computes the same val scores
    (all-reduced sums); rank 0 alone writes them, best/ and state/.

    Rank 1 then crashes in epoch 1 and the run is resumed (under torchrun again): the average
    carried in state/ ends exactly as the uninterrupted run's, on both ranks."""
    whole = RunDir(Path("runs/whole"))
    run_args = ["run", TINY, "--run-dir", str(whole.path), *EMA]
    done = torchrun_rank_ema(run_args, Path("whole-ranks"), subprocess_env)
    assert done.returncode == 0, done.stdout + done.stderr
    status = whole.read_status()
    assert status is not None and status.state == "done" and status.processes == 2
    ranks = rank_records(Path("whole-ranks"))
    assert sorted(ranks) == [0, 1]
    assert [r["epoch"] for r in ranks[0]] == [r["epoch"] for r in ranks[1]] == [0, 1]
    for mine, theirs in zip(ranks[0], ranks[1], strict=True):
        assert {**theirs, "rank": 0} == mine  # same EMA, raw weights and val scores

    # rank 0's scores are the run's; its average is what state/ and best/ keep
    ends = events_of(whole, "epoch_end")
    for end, mine in zip(ends, ranks[0], strict=True):
        assert (end["val_loss"], end["val_acc"]) == (mine["val_loss"], mine["val_acc"])
        assert [end["val_loss_raw"], end["val_acc_raw"]] == mine["raw"]
    kept = safetensors.torch.load_file(str(whole.state_dir / "ema.safetensors"))
    assert digest(kept) == ranks[0][-1]["ema"]
    best, info = load_checkpoint(whole.best_dir)
    assert digest(best) == ranks[0][info.epoch]["ema_module"]
    result = CliRunner().invoke(cli, ["eval", str(whole.path), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output  # `hw3tui eval` of best/, in one process
    assert json.loads(result.output)["accuracy"] == ends[info.epoch]["val_acc"]

    crashed = RunDir(Path("runs/crashed"))
    crash_env = {**subprocess_env, "HW3TUI_TEST_FAULT": "1:1:1"}
    torchrun_rank_ema(
        ["run", TINY, "--run-dir", str(crashed.path), *EMA], Path("crash-ranks"), crash_env
    )
    status = crashed.read_status()
    assert status is not None and status.state == "failed"
    done = torchrun_rank_ema(["resume", str(crashed.path)], Path("resumed-ranks"), subprocess_env)
    assert done.returncode == 0, done.stdout + done.stderr
    status = crashed.read_status()
    assert status is not None and status.state == "done"
    assert len(events_of(crashed, "run_start")) == 2
    assert per_epoch(crashed) == per_epoch(whole)
    resumed = rank_records(Path("resumed-ranks"))
    assert resumed[0] == ranks[0][1:] and resumed[1] == ranks[1][1:]  # epoch 1, both ranks
    ema_file = "ema.safetensors"
    assert (crashed.state_dir / ema_file).read_bytes() == (whole.state_dir / ema_file).read_bytes()


@pytest.mark.parametrize("target", ["launcher", "rank 1"])
def test_one_sigint_cancels_every_rank_after_the_same_step(
    target: str, subprocess_env: dict[str, str]
) -> None:
    """SIGINT to `hw3tui run` (Ctrl-C, the TUI's cancel), or to rank 1 alone (rank 0 gets none):
    every rank stops after the same step, the state is saved and the run ends cancelled, exit
    130; no rank waits for one that stopped."""
    run = RunDir(Path("runs/cancel"))
    child = subprocess.Popen(
        [*HW3TUI, "run", TINY, "--nproc", "2", "--run-dir", str(run.path), *LONG],
        env=subprocess_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + WAIT
        while not events_of(run, "epoch_end") and time.monotonic() < deadline:
            time.sleep(0.1)
        pid = child.pid if target == "launcher" else rank_pids(child.pid)[1]
        os.kill(pid, signal.SIGINT)
        assert child.wait(timeout=WAIT) == 130
    finally:
        if child.poll() is None:  # the ranks live in sessions of their own: end them too
            for rank in rank_pids(child.pid, wait=0).values():
                os.kill(rank, signal.SIGKILL)
            child.kill()
            child.wait()
    status = run.read_status()
    assert status is not None and status.state == "cancelled"
    assert status.reason.startswith("SIGINT ")
    assert json.loads((run.state_dir / "state.json").read_text())["train"]["epoch"] >= 1


def test_a_stuck_rank_times_out_instead_of_hanging_the_run(subprocess_env: dict[str, str]) -> None:
    env = {**subprocess_env, "HW3TUI_TEST_FAULT": "1:0:1:hang", "HW3TUI_DDP_TIMEOUT": "8"}
    failed = subprocess.run(
        [*HW3TUI, "run", TINY, "--nproc", "2", "--runs-dir", "runs"],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert failed.returncode == 1, failed.stdout + failed.stderr
    status = only_run(Path("runs")).read_status()
    assert status is not None and status.state == "failed"
    assert "did not answer within 8 s (HW3TUI_DDP_TIMEOUT)" in status.reason


@pytest.mark.parametrize(
    ("fault", "code", "reason"),
    [
        ("1:job", 2, "rank 1 could not start: test fault while building the job"),
        ("1:0:end", 1, "rank 1: RuntimeError: test fault at the end of epoch 0"),
    ],
    ids=["building-the-job", "epoch-end"],
)
def test_a_rank_failing_outside_a_step_ends_every_rank_naming_it(
    subprocess_env: dict[str, str], fault: str, code: int, reason: str
) -> None:
    """A rank fails while building its job (the model on its GPU: an out-of-memory) or at an
    epoch's end: the ranks agree on it before any collective, so every rank ends at once with
    the reason, rather than one waiting in DDP's setup or a GPU all-reduce for a rank that is
    gone (NCCL notices no dead peer; only the timeout, set long here, would end the wait)."""
    env = {**subprocess_env, "HW3TUI_TEST_FAULT": fault, "HW3TUI_DDP_TIMEOUT": "900"}
    failed = subprocess.run(
        [*HW3TUI, "run", TINY, "--nproc", "2", "--runs-dir", "runs"],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert failed.returncode == code, failed.stdout + failed.stderr
    assert f"error: {reason}" in failed.stderr
    assert "Connection reset" not in failed.stderr and "Traceback" not in failed.stdout
    if fault == "1:job":  # nothing was trained: no run folder is left
        # rank 1 ends quietly and rank 0 says why: a rank 1 ending first with its traceback made
        # torchrun stop rank 0 before it could (exit 1 instead of 2, under load)
        assert "Traceback" not in failed.stderr, failed.stderr
        assert not Path("runs").exists() or not any(Path("runs").iterdir())
        return
    status = only_run(Path("runs")).read_status()
    assert status is not None and status.state == "failed"
    assert status.reason.startswith(reason) and status.epochs_done == 1


def test_gpus_on_a_machine_without_one_is_bad_input_and_leaves_nothing() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    preset = Path("gpu.yaml")
    preset.write_text(Path(TINY).read_text().replace("device: cpu", "device: auto"))
    result = CliRunner().invoke(cli, ["run", str(preset), "--gpus", "2"])
    assert result.exit_code == 2
    assert "2 GPUs asked for, but this machine has no CUDA GPU" in result.output
    assert "--nproc 2" in result.output
    assert not Path("runs").exists()

    cpu = CliRunner().invoke(cli, ["run", TINY, "--gpus", "2"])
    assert cpu.exit_code == 2
    assert "--gpus 2: the preset's runtime.device is cpu" in cpu.output
    both = CliRunner().invoke(cli, ["run", TINY, "--gpus", "2", "--nproc", "2"])
    assert both.exit_code == 2 and "not both" in both.output


def test_the_tui_launching_a_multi_gpu_preset_records_why_it_could_not_start(
    subprocess_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The TUI starts `hw3tui run PRESET --run-dir DIR`, which starts torchrun for
    `runtime.gpus: 2`; without GPUs its run folder says why."""
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    from hw3tui.tui.control import Launcher

    monkeypatch.setenv("PYTHONPATH", subprocess_env["PYTHONPATH"])
    preset = Path("gpus.yaml")
    text = Path(TINY).read_text().replace("device: cpu", "device: auto\n  gpus: 2")
    preset.write_text(text)
    launcher = Launcher(Path("runs"))
    run = launcher.launch(preset, "tiny")
    child = launcher.child(run)
    assert child is not None and child.wait(timeout=WAIT) == 2
    status = run.read_status()
    assert status is not None and status.state == "failed"
    assert "no CUDA GPU" in status.reason
    assert "no CUDA GPU" in run.log_file.read_text()


def rank_pids(launcher: int, *, wait: float = 60) -> dict[int, int]:
    """The pid of each rank among the launcher's child processes (read from their environment),
    once both ranks are there (or `wait` seconds have passed)."""
    deadline = time.monotonic() + wait
    while True:
        found: dict[int, int] = {}
        for children in Path(f"/proc/{launcher}/task").glob("*/children"):
            for pid in children.read_text().split():
                try:
                    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                except OSError:
                    continue
                ranks = [line[5:] for line in environ if line.startswith(b"RANK=")]
                if ranks:
                    found[int(ranks[0])] = int(pid)
        if len(found) == 2 or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)
