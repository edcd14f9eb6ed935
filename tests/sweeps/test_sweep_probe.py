"""One runtime probe per sweep: measured once before the first trial, read by every trial."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hw3tui.runs import RunDir
from hw3tui.sweeps.file import check_sweep_text
from hw3tui.sweeps.folder import SweepDir, read_leaderboard
from hw3tui.sweeps.probe import Target, targets

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
def test_a_sweep_measures_once_and_both_trials_start_from_the_cached_answer(
    tmp_path: Path,
) -> None:
    Path("two.yaml").write_text(TWO)
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
    assert probes[0].startswith("runtime probe: resnet18 at 32 px, batch 16: ")
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
    Path("two.yaml").write_text(TWO)
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
