"""Two machines on one sweep: workers in two processes with two working folders (machine A's
sweep folder, machine B's folder holding a copy of its sweep.yaml) that share only the run
folders' parent (`runs:`), on a real PostgreSQL server and on sqlite. Each trial is a real
tiny `hw3tui run` child (a few seconds each)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hw3tui.runs import RunDir
from hw3tui.sweeps.file import load_sweep
from hw3tui.sweeps.folder import Row, SweepDir, read_leaderboard
from hw3tui.sweeps.study import enqueue_grid, open_study
from tests.postgres_server import PostgresServer
from tests.sweeps.test_sweep_runs import child_env

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "data" / "tiny.yaml"
GRID = f"""name: grid
base: {TINY}
set: {{schedule.epochs: 2, runtime.precision: fp32, runtime.channels_last: false}}
axes:
  optimizer.name: [adamw, sgd]
  schedule.lr: [0.001, 0.01]
"""
# both machines' folders are named `grid`: the study is the same whichever name it takes


def worker(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hw3tui", "sweep", *args],
        cwd=cwd,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(*workers: subprocess.Popen[str]) -> list[str]:
    outputs = [w.communicate(timeout=900)[0] for w in workers]
    assert [w.returncode for w in workers] == [0] * len(workers), outputs
    return outputs


def two_machines(tmp_path: Path, storage: str | None) -> tuple[Path, Path, Path]:
    """Machine A's working folder with the sweep file, machine B's, and the shared folder."""
    a, b, shared = tmp_path / "a", tmp_path / "b", tmp_path / "shared"
    for path in (a, b, shared):
        path.mkdir()
    text = GRID + f"runs: {shared / 'runs'}\n"
    (a / "grid.yaml").write_text(text + (f"storage: {storage}\n" if storage else ""))
    return a, b, shared / "runs"


def join(a_sweep: Path, b: Path) -> Path:
    """Machine B joins: a copy of A's sweep.yaml in a folder of its own."""
    deadline = time.monotonic() + 120
    while not (a_sweep / "sweep.yaml").is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    (b / "grid").mkdir()
    shutil.copyfile(a_sweep / "sweep.yaml", b / "grid" / "sweep.yaml")
    return b / "grid"


def each_trial_once(runs: Path) -> None:
    """One run folder per trial, each started once and ended done once."""
    assert sorted(p.name for p in runs.iterdir() if not p.name.startswith(".")) == [
        f"trial-{n:03d}" for n in range(4)
    ]
    for number in range(4):
        events = RunDir(runs / f"trial-{number:03d}").events()
        ends = [e.get("state") for e in events if e["type"] == "run_end"]
        assert ends.count("done") == 1, (number, ends)


def result(rows: list[Row]) -> dict[tuple[tuple[str, str], ...], tuple[object, ...]]:
    """A leaderboard as its values, states and axis cells, by axis cells, in its order."""
    return {
        tuple(sorted(r.params.items())): (r.state, r.value, r.epoch, r.seed, i)
        for i, r in enumerate(rows)
    }


@pytest.fixture(scope="module")
def journal_reference(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    """The same grid by one worker on the default journal storage (runs in its sweep folder)."""
    root = tmp_path_factory.mktemp("journal")
    (root / "grid.yaml").write_text(GRID)
    finish(worker("grid.yaml", "--sweep-dir", "grid", cwd=root))
    return read_leaderboard(SweepDir(root / "grid"))[1]


@pytest.fixture(scope="module")
def postgres_two_workers(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> tuple[Path, Path, Path]:
    url = postgres_server.url(postgres_server.new_database())
    a, b, runs = two_machines(tmp_path_factory.mktemp("pg"), url)
    first = worker("grid.yaml", "--sweep-dir", "grid", cwd=a)
    second = worker("resume", "grid", cwd=b) if join(a / "grid", b) else None
    assert second is not None
    finish(first, second)
    return a / "grid", b / "grid", runs


def test_two_machines_on_postgresql_run_each_trial_once(
    postgres_two_workers: tuple[Path, Path, Path],
) -> None:
    a, b, runs = postgres_two_workers

    each_trial_once(runs)
    for number in range(4):
        events = RunDir(runs / f"trial-{number:03d}").events()
        assert sum(e["type"] == "run_start" for e in events) == 1
    assert not (b / "runs").exists()  # machine B's folder: its sweep.yaml and leaderboard
    for folder in (a, b):
        _, rows = read_leaderboard(SweepDir(folder))
        assert sorted((r.trial, r.state) for r in rows) == [(n, "done") for n in range(4)]
        # a run outside the sweep folder is named by its absolute path
        assert sorted(r.run for r in rows) == [str(runs / f"trial-{n:03d}") for n in range(4)]


def test_two_machines_leaderboard_equals_one_worker_on_the_journal(
    postgres_two_workers: tuple[Path, Path, Path], journal_reference: list[Row]
) -> None:
    a, b, _ = postgres_two_workers
    for folder in (a, b):
        _, rows = read_leaderboard(SweepDir(folder))
        assert result(rows) == result(journal_reference)


def test_kill_9_of_one_machines_worker_mid_trial_the_other_takes_it_over(
    tmp_path: Path, postgres_url: str, journal_reference: list[Row]
) -> None:
    a, b, runs = two_machines(tmp_path, postgres_url)
    first = worker("grid.yaml", "--sweep-dir", "grid", cwd=a)
    second = worker("resume", "grid", cwd=b) if join(a / "grid", b) else None
    assert second is not None
    # B's first trial: the run folder whose claim names B's pid, once it ended an epoch
    victim: RunDir | None = None
    deadline = time.monotonic() + 600
    while victim is None and time.monotonic() < deadline:
        for lock in sorted(runs.glob("trial-*/sweep.lock")):
            run = RunDir(lock.parent)
            held = lock.read_text().strip() == str(second.pid)
            if held and '"epoch_end"' in _text(run.events_file):
                victim = run
        time.sleep(0.1)
    assert victim is not None, "machine B never ran a trial"
    second.kill()  # kill -9: the machine is gone, its trial's engine with it
    second.wait()
    engine = getattr(victim.read_status(), "pid", None)
    if isinstance(engine, int) and victim.is_live():
        os.kill(engine, signal.SIGKILL)
    killed = getattr(victim.read_status(), "state", None) == "running"

    output = finish(first)[0]

    assert (f"trial {victim.name[-1]} continued" in output) == killed  # `hw3tui resume`
    each_trial_once(runs)
    starts = [e for e in victim.events() if e["type"] == "run_start"]
    assert len(starts) == (2 if killed else 1)
    if killed:
        assert "resumed_from_epoch" in starts[1]
    _, rows = read_leaderboard(SweepDir(a / "grid"))
    assert result(rows) == result(journal_reference)


def test_two_workers_on_sqlite_and_a_grid_set_up_twice_run_each_trial_once(
    tmp_path: Path, journal_reference: list[Row]
) -> None:
    database = tmp_path / "study.db"
    a, b, runs = two_machines(tmp_path, f"sqlite:///{database}")
    loaded = load_sweep(a / "grid.yaml")
    folder = SweepDir(a / "grid")
    folder.path.mkdir()
    folder.sweep_file.write_text(loaded.text)
    # two machines setting the study up at once, where their setup locks do not meet: the
    # grid is queued twice; the second copy of each point must never run
    for _ in range(2):
        assert enqueue_grid(open_study(SweepDir(folder.path), loaded), loaded)

    first = worker("resume", "grid", cwd=a)
    second = worker("resume", "grid", cwd=b) if join(folder.path, b) else None
    assert second is not None
    finish(first, second)

    each_trial_once(runs)
    for machine in (a, b):
        _, rows = read_leaderboard(SweepDir(machine / "grid"))
        assert sorted(r.state for r in rows) == ["done"] * 4
        by_point = {tuple(sorted(r.params.items())): r for r in rows}
        reference = {tuple(sorted(r.params.items())): r for r in journal_reference}
        assert {p: (r.state, r.value, r.epoch) for p, r in by_point.items()} == {
            p: (r.state, r.value, r.epoch) for p, r in reference.items()
        }


def test_a_new_sweep_refuses_a_runs_folder_that_holds_runs(tmp_path: Path) -> None:
    (tmp_path / "used" / "trial-000").mkdir(parents=True)
    (tmp_path / "grid.yaml").write_text(GRID + "runs: used\n")

    done = subprocess.run(
        [sys.executable, "-m", "hw3tui", "sweep", "grid.yaml", "--sweep-dir", "g"],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 2, done.stdout + done.stderr
    assert "already holds runs" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "g").exists()


def _text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def slurm_scripts(shared: Path) -> list[str]:
    """The README's SLURM scripts, with their shared folder moved to `shared`."""
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    return [b.replace("/shared/hw3", str(shared)) for b in blocks if "#SBATCH" in b]


def before_sbatch(script: str) -> str:
    return next(line for line in script.splitlines() if "before sbatch" in line).split(": ", 1)[1]


def shell(command: str, cwd: Path, task: int) -> subprocess.Popen[str]:
    """`command` in bash as SLURM array task `task` would run it, `hw3tui` on the PATH."""
    shim = cwd / "bin"
    if not shim.is_dir():  # written once: another task may be running it
        shim.mkdir()
        (shim / "hw3tui").write_text(f'#!/bin/sh\nexec {sys.executable} -m hw3tui "$@"\n')
        (shim / "hw3tui").chmod(0o755)
    environment = child_env() | {"SLURM_ARRAY_TASK_ID": str(task)}
    environment["PATH"] = f"{shim}{os.pathsep}{environment['PATH']}"
    return subprocess.Popen(
        ["bash", "-c", command],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_the_readme_slurm_job_array_tasks_run_the_sweep(tmp_path: Path, postgres_url: str) -> None:
    workers = slurm_scripts(tmp_path / "shared")[0]
    commands = slurm_scripts(tmp_path / "other")[1]  # its own run folders
    (tmp_path / "grid.yaml").write_text(GRID + f"trials: 2\nstorage: {postgres_url}\n")
    finish(shell(before_sbatch(workers), tmp_path, 0))

    # two array tasks at once, each running the script as sbatch would (#SBATCH lines are comments)
    finish(*(shell(workers, tmp_path, task) for task in (0, 1)))

    sweep = SweepDir(tmp_path / "shared" / "sweeps" / "grid")
    _, rows = read_leaderboard(sweep)
    assert sorted((r.trial, r.state) for r in rows) == [(0, "done"), (1, "done")]
    for number in (0, 1):
        events = sweep.run_of(number).events()
        assert sum(e["type"] == "run_start" for e in events) == 1

    # the --print-commands form: task 1 runs the grid's second combination with `hw3tui run`
    (tmp_path / "other").mkdir()  # the cluster's shared folder
    finish(shell(before_sbatch(commands), tmp_path, 0))
    finish(shell(commands, tmp_path, 1))
    run = RunDir(tmp_path / "other" / "sweeps" / "grid" / "runs" / "trial-001")
    assert getattr(run.read_status(), "state", None) == "done"


@pytest.mark.parametrize(
    "text",
    [
        "runs: [a, b]\n",
        "runs: ''\n",
        'runs: "x\\0y"\n',
        "runs: {\n",  # not YAML
        "runs: &a [*a]\n",
        "\xff\xfe runs: x\n",
    ],
)
def test_a_hostile_sweep_yaml_means_the_default_runs_folder(tmp_path: Path, text: str) -> None:
    (tmp_path / "sweep.yaml").write_bytes(text.encode("utf-8", "surrogateescape"))
    assert SweepDir(tmp_path).runs_dir == tmp_path / "runs"


def test_a_relative_runs_is_frozen_absolute_and_a_sweep_folder_names_its_shared_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hw3tui.commands.targets import runs_of, sweeps_of

    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "grid.yaml").write_text(GRID + "runs: ../shared/runs\n")
    monkeypatch.chdir(tmp_path)
    loaded = load_sweep(Path("files/grid.yaml"))
    shared = tmp_path / "shared" / "runs"
    assert loaded.sweep.runs == str(shared)
    assert f"runs: {shared}" in loaded.text

    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "sweep.yaml").write_text(loaded.text)
    trial = RunDir(shared / "trial-000")
    trial.path.mkdir(parents=True)
    trial.preset_file.write_text(TINY.read_text())
    assert SweepDir(Path("b")).run_of(0).path == trial.path
    assert sweeps_of(("b",), None) == [Path("b")]
    assert [r.path for r in runs_of(("b",), None)] == [trial.path]
