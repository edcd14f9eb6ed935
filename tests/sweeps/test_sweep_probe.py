"""One runtime probe per sweep: measured once before the first trial, read by every trial; not
measured where the trials together train too few steps for it (the run's own 5 % rule)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hw3tui.runs import RunDir
from hw3tui.sweeps import probe
from hw3tui.sweeps.file import check_sweep_text
from hw3tui.sweeps.folder import SweepDir, read_leaderboard
from hw3tui.sweeps.probe import Target, targets, too_few_steps
from tests.tiny import colour_images

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "data" / "tiny.yaml"
FAKE_STEPS_ENV = "HW3TUI_TEST_STEP_SECONDS"
"""hw3tui.engine.hardware.probe.FAKE_STEPS_ENV (not imported: sweep tests stay torch-free)."""
TWO = f"""name: two
base: {TINY}
set: {{schedule.epochs: 1}}
axes:
  optimizer.name: [adamw, sgd]
"""
"""Two 1-epoch trials of 48 shapes in batches of 16: 6 training steps in all, too few to measure."""
FOLDER_TWO = f"""name: two
base: {TINY}
set: {{schedule.epochs: 1, data.source: imagefolder, data.train: data/train, data.val_split: 0.25}}
axes:
  optimizer.name: [adamw, sgd]
"""
"""The same on images read from files: their number is not in the preset, so the sweep measures."""
TOO_FEW = (
    "runtime probe: mobilenet_v3_small at 32 px, batch 16: not measured (6 training steps in all, "
    "too few to spend 5 % on measuring); each trial decides for itself"
)


def write_images() -> None:
    """data/train/<colour>/<i>.png: 3 classes of 6 tiny images."""
    colour_images(Path("data", "train"))


def run_start(run: RunDir) -> dict[str, object]:
    first = json.loads(run.events_file.read_text().splitlines()[0])
    assert first["type"] == "run_start"
    runtime: dict[str, object] = first["runtime"]
    return runtime


def child_env(cache: Path) -> dict[str, str]:
    # every step of fp32 channels_last says 0.01 s, the others 0.02 s: one answer on any machine
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), FAKE_STEPS_ENV: "fp32 channels_last=0.01"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.pop("CUDA_VISIBLE_DEVICES", None)
    return env


def probe_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("runtime probe:")]


@pytest.mark.slow
def test_a_small_shapes_sweep_measures_nothing_and_its_trials_take_the_table(
    tmp_path: Path,
) -> None:
    Path("two.yaml").write_text(TWO)
    cache = tmp_path / "cache"
    done = subprocess.run(
        [sys.executable, "-m", "hw3tui", "sweep", "two.yaml", "--sweep-dir", "s"],
        env=child_env(cache),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    assert probe_lines(done.stdout) == [TOO_FEW], done.stdout
    assert not list(cache.glob("hw3tui/runtime-probe/*.json"))  # no tune child measured
    folder = SweepDir(Path("s"))
    _, rows = read_leaderboard(folder)
    starts = [run_start(RunDir(folder.path / row.run)) for row in rows]
    assert len(starts) == 2
    for runtime in starts:
        auto = runtime["auto"]
        assert isinstance(auto, dict)  # each trial decided for itself: the table's answer
        assert (auto["how"], auto["why"]) == ("table", "run too short to measure (3 steps)")
    assert len({(r["precision"], r["channels_last"]) for r in starts}) == 1


@pytest.mark.slow
def test_a_sweep_measures_once_and_both_trials_start_from_the_cached_answer(
    tmp_path: Path,
) -> None:
    write_images()
    Path("two.yaml").write_text(FOLDER_TWO)
    cache = tmp_path / "cache"
    env = child_env(cache)
    done = subprocess.run(
        [sys.executable, "-m", "hw3tui", "sweep", "two.yaml", "--sweep-dir", "s"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    probes = probe_lines(done.stdout)
    assert len(probes) == 1, done.stdout  # two trials, one workload, one measurement
    assert probes[0].startswith("runtime probe: mobilenet_v3_small at 32 px, batch 16: ")
    assert "(measured in " in probes[0] and "trials read the cache" in probes[0]
    (answer,) = (cache / "hw3tui" / "runtime-probe").glob("*.json")
    rates = json.loads(answer.read_text())["rates"]

    folder = SweepDir(Path("s"))
    _, rows = read_leaderboard(folder)
    starts = [run_start(RunDir(folder.path / row.run)) for row in rows]
    assert len(starts) == 2
    for runtime in starts:
        auto = runtime["auto"]
        assert isinstance(auto, dict)
        assert auto["how"] == "cached" and auto["rates"] == rates  # neither trial measured
    assert {(r["precision"], r["channels_last"]) for r in starts} == {("fp32", True)}
    assert ": fp32 channels_last (measured in " in probes[0]
    assert ", 2.00x fp32 NCHW;" in probes[0]  # 16 images in 0.01 s against 0.02 s


@pytest.mark.slow
def test_of_two_workers_one_measures_and_the_other_reads_the_cache(tmp_path: Path) -> None:
    write_images()
    Path("two.yaml").write_text(FOLDER_TWO)
    env = child_env(tmp_path / "cache")
    command = [sys.executable, "-m", "hw3tui", "sweep"]
    first = subprocess.Popen(
        [*command, "two.yaml", "--sweep-dir", "s"], env=env, stdout=subprocess.PIPE, text=True
    )
    while not SweepDir(Path("s")).journal.exists() and first.poll() is None:
        time.sleep(0.05)
    second = subprocess.run(
        [*command, "resume", "s"], env=env, capture_output=True, text=True, timeout=900
    )
    out, _ = first.communicate(timeout=900)

    assert first.returncode == 0 and second.returncode == 0, out + second.stdout + second.stderr
    lines = probe_lines(out) + probe_lines(second.stdout)
    assert len(lines) == 2, lines  # one a worker
    assert sorted("(measured in " in line for line in lines) == [False, True]
    assert sorted("(cached, 2.00x fp32 NCHW)" in line for line in lines) == [False, True]


def loaded(text: str) -> list[Target]:
    Path("s.yaml").write_text(text)
    return targets(check_sweep_text(text, "s.yaml", Path.cwd()))


def test_each_backbone_and_batch_size_of_the_axes_is_one_workload_most_trials_first() -> None:
    found = loaded(
        f"""name: s
base: {TINY}
axes:
  backbone.name: [resnet18, mobilenet_v2]
  schedule.batch_size: [8, 16, 8]
  schedule.lr: [0.001, 0.01]
"""
    )
    assert [t.describe() for t in found] == [
        "resnet18 at 32 px, batch 8",
        "mobilenet_v2 at 32 px, batch 8",
        "resnet18 at 32 px, batch 16",
        "mobilenet_v2 at 32 px, batch 16",
    ]
    assert [t.trials for t in found] == [4, 4, 2, 2]  # batch 8 is listed twice; lr changes nothing
    assert all(not any("schedule.lr" in o for o in t.overrides) for t in found)


def test_a_runtime_that_is_not_auto_is_not_measured() -> None:
    pinned = f"""name: s
base: {TINY}
set: {{runtime.precision: fp32, runtime.channels_last: false}}
axes:
  backbone.name: [resnet18, mobilenet_v2]
"""
    assert loaded(pinned) == []
    half = pinned.replace("runtime.channels_last: false", "schedule.epochs: 1")
    assert [t.describe() for t in loaded(half)] == [
        "resnet18 at 32 px, batch 16",
        "mobilenet_v2 at 32 px, batch 16",
    ]


def test_a_random_sweeps_listed_backbones_are_measured_and_a_range_is_not() -> None:
    found = loaded(
        f"""name: s
base: {TINY}
method: random
trials: 5
axes:
  backbone.name: [resnet18, mobilenet_v2]
  schedule.lr: {{loguniform: [0.0001, 0.1]}}
"""
    )
    assert [t.describe() for t in found] == [
        "resnet18 at 32 px, batch 16",
        "mobilenet_v2 at 32 px, batch 16",
    ]


def test_a_small_shapes_sweep_starts_no_tune_child() -> None:
    Path("two.yaml").write_text(TWO)
    said: list[str] = []

    def no_child(*args: object, **kwargs: object) -> None:
        raise AssertionError("a tune child was started")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(probe.subprocess, "Popen", no_child)
        probe.probe_runtime(
            check_sweep_text(TWO, "two.yaml", Path.cwd()), {}, said.append, lambda: False
        )
    assert said == [TOO_FEW]


def test_the_trials_of_a_workload_count_together_against_the_runs_5_percent() -> None:
    # 8 steps measure 4 candidates at one batch size: 5 % of 160 training steps
    def workload(train_per_class: int) -> Target:
        (found,) = loaded(
            TWO.replace("epochs: 1", f"epochs: 1, data.shapes.train_per_class: {train_per_class}")
        )
        return found

    enough = workload(426)  # 3 x 426 images in batches of 16: 80 steps a trial, 160 for two
    assert (enough.trials, enough.steps) == (2, 160)
    assert not too_few_steps(enough)  # alone, neither trial could measure; together they do
    short = workload(421)  # 79 steps a trial
    assert (short.steps, too_few_steps(short)) == (158, True)


def test_steps_count_every_trials_epochs_batch_size_schedule_and_seeds() -> None:
    (found,) = loaded(
        f"""name: s
base: {TINY}
repeat: 2
set: {{schedule.batch_size: {{0: 8, 1: 16}}}}
axes:
  schedule.epochs: [2, 3]
  schedule.lr: [0.001, 0.01]
"""
    )
    # 48 images: epochs at 8 then 16 (6 + 3 steps), 3 epochs add one more at 16: 9 and 12 steps;
    # each of 2 lr values, each with 2 seeds
    assert found.describe() == "mobilenet_v3_small at 32 px, batch 8/16"
    assert found.steps == (9 + 12) * 2 * 2


def test_a_random_sweeps_planned_trials_spread_over_its_listed_workloads() -> None:
    found = loaded(
        f"""name: s
base: {TINY}
method: random
trials: 10
axes:
  backbone.name: [resnet18, mobilenet_v2]
  schedule.lr: {{loguniform: [0.0001, 0.1]}}
"""
    )
    assert [t.steps for t in found] == [5 * 6, 5 * 6]  # 5 trials each of 2 epochs of 3 steps


def test_the_steps_are_unknown_and_the_sweep_measures_on_files_or_drawn_epochs() -> None:
    Path("data/train/a").mkdir(parents=True)
    (on_files,) = loaded(FOLDER_TWO)
    drawn = TWO.replace("[adamw, sgd]", "[adamw, sgd]\n  schedule.epochs: {int: [1, 3]}")
    drawn = drawn.replace("name: two", "name: two\nmethod: random")
    (epochs_drawn,) = loaded(drawn)
    for target in (on_files, epochs_drawn):
        assert target.steps is None
        assert not too_few_steps(target)
