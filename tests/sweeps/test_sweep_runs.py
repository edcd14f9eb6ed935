"""Sweeps end to end on tiny data: each trial is a real `hw3tui run` child (a few seconds each)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hw3tui.preset import load_preset
from hw3tui.runs import RunDir
from hw3tui.runs.header import result_lines
from hw3tui.sweeps.folder import Row, SweepDir, read_leaderboard
from tests.tiny import colour_images

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "data" / "tiny.yaml"
# the runtime fixed: the module's grid and a test's sweep have separate probe caches (HOME), and a
# measured choice could differ between them, where the leaderboards must match bit for bit
GRID = f"""name: grid
base: {TINY}
set: {{schedule.epochs: 2, runtime.precision: fp32, runtime.channels_last: false}}
axes:
  optimizer.name: [adamw, sgd]
  schedule.lr: [0.001, 0.01]
"""


def hw3tui(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hw3tui", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.pop("CUDA_VISIBLE_DEVICES", None)
    return env


def by_trial(rows: list[Row]) -> dict[int, Row]:
    return {r.trial: r for r in rows}


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> tuple[SweepDir, str]:
    """The 2×2 grid, run once without interruption."""
    root = tmp_path_factory.mktemp("grid")
    (root / "grid.yaml").write_text(GRID)
    done = hw3tui("sweep", "grid.yaml", "--sweep-dir", "g", cwd=root, env=child_env())
    assert done.returncode == 0, done.stdout + done.stderr
    return SweepDir(root / "g"), done.stdout


def test_a_2x2_grid_ends_with_4_trials_ranked_by_their_own_runs(
    grid: tuple[SweepDir, str],
) -> None:
    folder, output = grid
    axes, rows = read_leaderboard(folder)

    assert axes == ["optimizer.name", "schedule.lr"]
    assert sorted(r.trial for r in rows) == [0, 1, 2, 3]
    assert {r.state for r in rows} == {"done"}
    for row in rows:
        run = RunDir(folder.path / row.run)
        status = run.read_status()
        assert status is not None and status.best is not None
        best = status.best
        assert row.value == pytest.approx(best["value"], rel=1e-5)
        assert row.epoch == best["epoch"]
        preset = load_preset(run.preset_file).preset
        assert (preset.optimizer.name, str(preset.schedule.lr)) == (
            row.params["optimizer.name"],
            row.params["schedule.lr"],
        )
    values = [r.value for r in rows]
    assert values == sorted(values, reverse=True)  # val_acc: best first
    assert len(re.findall(r"^trial \d done: .* top: ", output, flags=re.M)) == 4


def test_best_yaml_is_the_best_trials_preset_with_its_result(grid: tuple[SweepDir, str]) -> None:
    folder, _ = grid
    _, rows = read_leaderboard(folder)
    best_run = RunDir(folder.path / rows[0].run)

    shared = load_preset(folder.best_file).preset

    assert shared == load_preset(best_run.preset_file).preset
    header = result_lines(folder.best_file.read_text())
    assert header[0].startswith(f"best val acc {rows[0].value:.4f} at epoch {rows[0].epoch}")
    assert header[-1] == f"sweep {folder.name} · trial {rows[0].trial}"


def test_sweeps_lists_the_finished_sweep(grid: tuple[SweepDir, str]) -> None:
    folder, _ = grid
    listed = hw3tui(
        "sweeps",
        "--json",
        "--sweeps-dir",
        str(folder.path.parent),
        cwd=folder.path,
        env=child_env(),
    )

    (entry,) = json.loads(listed.stdout)
    assert (entry["state"], entry["trials_ended"], entry["trials"]) == ("done", 4, 4)
    _, rows = read_leaderboard(folder)
    assert entry["best"]["trial"] == rows[0].trial


def test_kill_9_during_a_trial_then_resume_gives_the_same_leaderboard(
    grid: tuple[SweepDir, str],
) -> None:
    uninterrupted, _ = grid
    Path("grid.yaml").write_text(GRID + "trials: 2\n")
    env = child_env()
    sweep = subprocess.Popen(
        [sys.executable, "-m", "hw3tui", "sweep", "grid.yaml", "--sweep-dir", "k"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    first = SweepDir(Path("k")).run_of(0)
    deadline = time.monotonic() + 600
    while '"epoch_end"' not in _text(first.events_file) and time.monotonic() < deadline:
        time.sleep(0.2)
    sweep.kill()  # kill -9: the sweep cannot clean up
    sweep.wait()
    engine = getattr(first.read_status(), "pid", None)
    if isinstance(engine, int) and first.is_live():
        os.kill(engine, signal.SIGKILL)  # and the trial's engine with it, as in a reboot
    while first.is_live():
        time.sleep(0.1)
    killed = getattr(first.read_status(), "state", None) == "running"  # not a fast machine's "done"

    resumed = hw3tui("sweep", "resume", "k", cwd=Path.cwd(), env=env)

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert ("trial 0 continued" in resumed.stdout) == killed  # with `hw3tui resume`
    assert "trial 0 started" not in resumed.stdout
    _, rows = read_leaderboard(SweepDir(Path("k")))
    _, reference = read_leaderboard(uninterrupted)
    expected = by_trial(reference)
    assert by_trial(rows) == {n: expected[n] for n in (0, 1)}


def test_two_workers_on_one_sweep_never_run_the_same_trial() -> None:
    Path("grid.yaml").write_text(GRID.replace("epochs: 2", "epochs: 1") + "trials: 3\n")
    env = child_env()
    first = subprocess.Popen(
        [sys.executable, "-m", "hw3tui", "sweep", "grid.yaml", "--sweep-dir", "w"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    folder = SweepDir(Path("w"))
    while not folder.journal.exists() and first.poll() is None:
        time.sleep(0.1)
    second = subprocess.Popen(
        [sys.executable, "-m", "hw3tui", "sweep", "resume", "w"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    outputs = [p.communicate(timeout=900)[0] for p in (first, second)]

    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    started = [re.findall(r"^trial (\d+) started", out, flags=re.M) for out in outputs]
    assert sorted(started[0] + started[1]) == ["0", "1", "2"]
    for number in range(3):
        events = folder.run_of(number).events()
        assert sum(e["type"] == "run_start" for e in events) == 1
    _, rows = read_leaderboard(folder)
    assert sorted((r.trial, r.state) for r in rows) == [(0, "done"), (1, "done"), (2, "done")]


def test_median_pruning_stops_a_trial_that_cannot_learn_before_its_last_epoch() -> None:
    colour_images(Path("data", "train"), per_class=12)
    Path("colours.yaml").write_text(
        "name: colours\n"
        "data: {source: imagefolder, train: data/train, val_split: 0.25, image_size: 32}\n"
        "backbone: {name: squeezenet1_1, pretrained: false}\n"  # no batch norm: learns in 2 epochs
        "optimizer: {name: adamw}\n"
        # many short epochs: a trial cannot finish before the sweep's next look at its events
        "schedule: {epochs: 40, lr: 0.001, batch_size: 9}\n"
        "checkpoint: {chunk_mb: 8}\n"
        "runtime: {device: cpu}\n"
    )
    Path("prune.yaml").write_text(
        "base: colours.yaml\naxes:\n  schedule.lr: [0.001, 1.0e-9]\n"
        "prune: {median: {after_epochs: 0, after_trials: 1}}\n"
    )

    done = hw3tui("sweep", "prune.yaml", "--sweep-dir", "p", cwd=Path.cwd(), env=child_env())

    assert done.returncode == 0, done.stdout + done.stderr
    rows = by_trial(read_leaderboard(SweepDir(Path("p")))[1])
    assert rows[0].state == "done"
    assert rows[1].state == "pruned"
    hopeless = RunDir(Path("p") / rows[1].run)
    status = hopeless.read_status()
    assert status is not None
    assert status.state == "cancelled"  # stopped like a cancel: resumable, folder valid
    assert status.epochs_done < 40
    assert "trial 1 pruned after epoch" in done.stdout


def _text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def test_ctrl_c_cancels_the_running_trial_cleanly_and_exits_130() -> None:
    Path("one.yaml").write_text(f"base: {TINY}\nset: {{schedule.epochs: 3}}\naxes:\n  seed: [1]\n")
    sweep = subprocess.Popen(
        [sys.executable, "-m", "hw3tui", "sweep", "one.yaml", "--sweep-dir", "c"],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    trial = SweepDir(Path("c")).run_of(0)
    deadline = time.monotonic() + 600
    while '"epoch_start"' not in _text(trial.events_file) and time.monotonic() < deadline:
        time.sleep(0.2)

    sweep.send_signal(signal.SIGINT)
    output = sweep.communicate(timeout=600)[0]

    assert sweep.returncode == 130, output
    assert "hw3tui sweep resume c" in output
    # saved: `hw3tui resume` can go on
    assert getattr(trial.read_status(), "state", None) == "cancelled"
    assert not trial.is_live()
    _, rows = read_leaderboard(SweepDir(Path("c")))
    assert [(r.trial, r.state) for r in rows] == [(0, "stopped")]


def test_a_queue_runs_presets_one_after_another_on_one_leaderboard() -> None:
    for name in ("first", "second"):
        Path(f"{name}.yaml").write_text(TINY.read_text().replace("name: tiny", f"name: {name}"))
    done = hw3tui(
        "sweep",
        "first.yaml",
        "second.yaml",
        "--set",
        "schedule.epochs=1",
        "--sweep-dir",
        "q",
        cwd=Path.cwd(),
        env=child_env(),
    )

    assert done.returncode == 0, done.stdout + done.stderr
    axes, rows = read_leaderboard(SweepDir(Path("q")))
    assert axes == ["preset"]
    queued = {r.trial: (r.state, Path(r.params["preset"]).name) for r in rows}
    assert queued == {0: ("done", "first.yaml"), 1: ("done", "second.yaml")}
    names = [
        load_preset(Path("q", r.run, "preset.yaml")).preset.name
        for r in sorted(rows, key=lambda r: r.trial)
    ]
    assert names == ["first", "second"]


def test_resume_runs_the_rest_of_a_grid_whose_enqueueing_was_cut_short() -> None:
    from hw3tui.sweeps.file import load_sweep
    from hw3tui.sweeps.study import combinations, open_study

    Path("s.yaml").write_text(
        f"name: cut\nbase: {TINY}\nset: {{schedule.epochs: 1}}\naxes:\n  seed: [1, 2, 3]\n"
    )
    loaded = load_sweep(Path("s.yaml"))
    folder = SweepDir.create(Path("sweeps"), "cut")
    folder.sweep_file.write_text(loaded.text)
    # the first worker was killed after queueing 1 of the 3 combinations
    open_study(folder, loaded).enqueue_trial(next(combinations(loaded)))

    done = hw3tui("sweep", "resume", str(folder.path), cwd=Path.cwd(), env=child_env())

    assert done.returncode == 0, done.stdout + done.stderr
    _, rows = read_leaderboard(folder)
    assert sorted((r.params["seed"], r.state) for r in rows) == [
        ("1", "done"),
        ("2", "done"),
        ("3", "done"),
    ]
