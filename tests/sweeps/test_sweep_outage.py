"""A sweep's database going away, and failed trials run again (`sweep resume --retry-failed`),
end to end on tiny data: the default journal file and a real PostgreSQL (`postgres_url`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from postgres_server import PostgresServer

from hw3tui.cli import cli
from hw3tui.sweeps import patience
from hw3tui.sweeps.folder import Row, SweepDir, read_leaderboard
from tests.tiny import colour_images

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def trial_folders(runs: Path) -> list[str]:
    """The trials' run folders (the workers' hidden .setup.lock beside them left out)."""
    return [p.name for p in runs.iterdir() if p.is_dir()]


def hw3tui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hw3tui", *args],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.pop("CUDA_VISIBLE_DEVICES", None)
    return env


def preset(epochs: int) -> None:
    Path("colours.yaml").write_text(
        "name: colours\n"
        "data: {source: imagefolder, train: a, val_split: 0.25, image_size: 32}\n"
        "backbone: {name: squeezenet1_1, pretrained: false}\n"
        "optimizer: {name: adamw}\n"
        f"schedule: {{epochs: {epochs}, lr: 0.001, batch_size: 9}}\n"
        "checkpoint: {chunk_mb: 8}\n"
        "runtime: {device: cpu}\n"
    )


def rows_of(folder: Path) -> list[Row]:
    return read_leaderboard(SweepDir(folder))[1]


def run_starts(folder: Path) -> Counter[str]:
    """How many times each run folder's engine started (a trial reported twice would show)."""
    starts: Counter[str] = Counter()
    for events in sorted((folder / "runs").glob("*/events.jsonl")):
        for line in events.read_text().splitlines():
            if json.loads(line).get("type") == "run_start":
                starts[events.parent.name] += 1
    return starts


def storage_args(storage: str, request: pytest.FixtureRequest) -> list[str]:
    if storage == "journal":
        return []
    return ["--storage", request.getfixturevalue("postgres_url")]


@pytest.mark.parametrize("storage", ["journal", "postgres"])
def test_retry_failed_reruns_exactly_the_failed_trials_with_their_values(
    storage: str, request: pytest.FixtureRequest
) -> None:
    there = colour_images("a")
    missing = Path("b").resolve()  # trial 1 reads it: missing, the trial fails at its start
    preset(epochs=1)
    Path("f.yaml").write_text(f"base: colours.yaml\naxes:\n  data.train: [{there}, {missing}]\n")

    first = hw3tui("sweep", "f.yaml", "--sweep-dir", "s", *storage_args(storage, request))
    assert first.returncode == 0, first.stdout + first.stderr
    assert [(r.trial, r.state) for r in rows_of(Path("s"))] == [(0, "done"), (1, "failed")]

    shutil.copytree(there, missing)  # the cause fixed
    again = hw3tui("sweep", "resume", "s", "--retry-failed")

    assert again.returncode == 0, again.stdout + again.stderr
    assert "failed trials queued again: 1" in again.stdout
    rows = {r.trial: r for r in rows_of(Path("s"))}
    assert sorted((n, r.state) for n, r in rows.items()) == [
        (0, "done"),
        (1, "failed"),
        (2, "done"),
    ]
    assert rows[2].params == rows[1].params  # the same values...
    assert rows[2].seed == rows[1].seed  # ...and the same seed
    assert sorted(trial_folders(Path("s", "runs"))) == [
        "trial-000",
        "trial-001",
        "trial-002",
    ]

    twice = hw3tui("sweep", "resume", "s", "--retry-failed")  # trial 1 was retried already

    assert twice.returncode == 0, twice.stdout + twice.stderr
    assert "failed trials queued again: none" in twice.stdout
    assert sorted(r.trial for r in rows_of(Path("s"))) == [0, 1, 2]
    assert len(trial_folders(Path("s", "runs"))) == 3


def test_retry_failed_on_a_random_sweep_runs_beyond_its_planned_trials() -> None:
    preset(epochs=1)  # its data folder `a` does not exist yet: every trial fails
    Path("r.yaml").write_text(
        "base: colours.yaml\nmethod: random\ntrials: 2\nseed: 3\n"
        "axes:\n  schedule.lr: {loguniform: [0.0001, 0.01]}\n"
    )
    first = hw3tui("sweep", "r.yaml", "--sweep-dir", "s")
    assert first.returncode == 0, first.stdout + first.stderr
    assert sorted(r.state for r in rows_of(Path("s"))) == ["failed", "failed"]

    colour_images("a")
    again = hw3tui("sweep", "resume", "s", "--retry-failed")

    assert again.returncode == 0, again.stdout + again.stderr
    rows = {r.trial: r for r in rows_of(Path("s"))}
    assert sorted((n, r.state) for n, r in rows.items()) == [
        (0, "failed"),
        (1, "failed"),
        (2, "done"),
        (3, "done"),
    ]
    assert {rows[2].params["schedule.lr"], rows[3].params["schedule.lr"]} == {
        rows[0].params["schedule.lr"],
        rows[1].params["schedule.lr"],
    }


def test_retry_failed_goes_with_resume_only() -> None:
    result = CliRunner().invoke(cli, ["sweep", "x.yaml", "--retry-failed"])
    assert result.exit_code == 2
    assert (
        result.output.strip()
        .splitlines()[-1]
        .endswith("--retry-failed goes with `hw3tui sweep resume DIR`")
    )


def wait_for(path: Path, process: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + 600
    while not path.exists():
        assert process is None or process.poll() is None, "the sweep ended before its trial began"
        assert time.monotonic() < deadline
        time.sleep(0.2)


def two_trials() -> None:
    colour_images("a")
    preset(epochs=3)
    Path("two.yaml").write_text("base: colours.yaml\naxes:\n  schedule.lr: [0.001, 0.002]\n")


def test_the_server_stopped_10_s_mid_sweep_loses_nothing(
    postgres_url: str, postgres_server: PostgresServer
) -> None:
    two_trials()
    args = ["sweep", "two.yaml", "--sweep-dir", "s", "--storage", postgres_url]
    sweep = subprocess.Popen(
        [sys.executable, "-m", "hw3tui", *args],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(Path("s/runs/trial-000/events.jsonl"), sweep)
        postgres_server.stop()
        time.sleep(10)  # trial 0 trains on meanwhile (its epochs, maybe its end)
        postgres_server.start()
        out, _ = sweep.communicate(timeout=900)
    finally:
        sweep.kill()
        sweep.wait()

    assert sweep.returncode == 0, out
    assert "unreachable" in out and "is back after" in out
    rows = rows_of(Path("s"))
    assert sorted((r.trial, r.state) for r in rows) == [(0, "done"), (1, "done")]
    assert all(r.value is not None for r in rows)
    assert run_starts(Path("s")) == {"trial-000": 1, "trial-001": 1}


def test_past_the_limit_the_worker_stops_with_one_line_and_resume_finishes(
    postgres_url: str,
    postgres_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    two_trials()
    monkeypatch.setattr(patience, "GIVE_UP_S", 2.0)
    monkeypatch.setenv("PYTHONPATH", child_env()["PYTHONPATH"])  # the trials this worker starts
    stopped: list[bool] = []

    def stop_once_trial_0_runs(path: Path) -> None:
        wait_for(path)
        postgres_server.stop()
        stopped.append(True)

    stopper = threading.Thread(
        target=stop_once_trial_0_runs, args=(Path("s/runs/trial-000/events.jsonl"),)
    )
    stopper.start()
    try:
        result = CliRunner().invoke(
            cli, ["sweep", "two.yaml", "--sweep-dir", "s", "--storage", postgres_url]
        )
    finally:
        stopper.join(timeout=600)
        postgres_server.start()

    assert stopped and result.exit_code == 1, result.output
    last = result.stderr.strip().splitlines()
    assert last == [
        f"database {postgres_url} unreachable for 2 s: worker stopped (its trials keep running); "
        "`hw3tui sweep resume s` continues once it is back"
    ]
    assert "Traceback" not in result.output

    done = hw3tui("sweep", "resume", "s")

    assert done.returncode == 0, done.stdout + done.stderr
    rows = rows_of(Path("s"))
    assert sorted((r.trial, r.state) for r in rows) == [(0, "done"), (1, "done")]
    assert run_starts(Path("s")) == {"trial-000": 1, "trial-001": 1}
