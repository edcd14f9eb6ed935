"""Ablations: the variants a preset makes, the table, the plan and the command (tiny data)."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from hw3tui.cli import cli
from hw3tui.preset import Preset, validate_text
from hw3tui.preset.diff import diff
from hw3tui.preset.yamlio import flow
from hw3tui.results.ablation import COLUMNS, ablation_rows
from hw3tui.results.verdicts import verdict
from hw3tui.runs import RunDir, Status
from hw3tui.sweeps.ablation import variants_of
from hw3tui.sweeps.folder import SweepDir
from tests.tiny import BACKBONE

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "data" / "tiny.yaml"
CHOICES = """name: choices
optimizer: {name: sgd, momentum: 0.9}
augment:
  horizontal_flip: 0.5
  random_crop: {padding: 4}
schedule:
  epochs: 4
  lr: {0: 0.01, 2: 0.001}
backbone: {name: resnet18, pretrained: false}
data: {source: shapes, image_size: 32}
"""


def test_a_preset_with_flip_crop_a_by_epoch_lr_and_momentum_makes_exactly_those_variants() -> None:
    preset = validate_text(CHOICES, "choices.yaml").preset

    variants = variants_of(preset)

    assert [v.name for v in variants] == [
        "optimizer.momentum off",
        "augment.horizontal_flip off",
        "augment.random_crop off",
        "schedule.lr constant 0.01",
    ]
    for variant in variants:
        (change,) = diff(preset, _applied(variant.set))  # exactly one field differs
        assert [change.field] == list(variant.set)
    assert {str(c) for v in variants for c in diff(preset, _applied(v.set))} == {
        "optimizer.momentum: 0.9 → 0.0",
        "augment.horizontal_flip: 0.5 → 0.0",
        "augment.random_crop: {padding: 4, padding_mode: constant} → null",
        "schedule.lr: {0: 0.01, 2: 0.001} → 0.01",
    }


def _applied(sets: dict[str, object]) -> Preset:
    return validate_text(CHOICES, "c.yaml", [f"{p}={flow(v)}" for p, v in sets.items()]).preset


def test_pretrained_nesterov_and_early_stop_are_each_a_variant() -> None:
    more = ["backbone.pretrained=true", "optimizer.nesterov=true", "schedule.early_stop={}"]
    preset = validate_text(CHOICES, "p.yaml", more).preset

    names = [v.name for v in variants_of(preset)]

    assert names[:3] == [
        "backbone.pretrained off (from scratch)",
        "optimizer.momentum off",
        "optimizer.nesterov off",
    ]
    assert names[-1] == "schedule.early_stop off"


def test_the_recipes_mixup_cutmix_label_smoothing_and_ema_are_each_a_variant() -> None:
    more = [
        "augment.mixup={alpha: 0.2, p: 1.0}",
        "augment.cutmix={alpha: 1.0, p: 0.5}",
        "loss.label_smoothing=0.1",
        "ema={decay: 0.99}",
    ]
    preset = validate_text(CHOICES, "p.yaml", more).preset

    recipes = {
        v.name: v.set
        for v in variants_of(preset)
        if "mix" in v.name or "." not in v.name or v.name.startswith("loss")
    }

    assert recipes == {
        "augment.mixup off": {"augment.mixup": None},
        "augment.cutmix off": {"augment.cutmix": None},
        "loss.label_smoothing off": {"loss.label_smoothing": 0.0},
        "ema off": {"ema": None},
    }
    for variant in variants_of(preset):  # each one a valid preset, differing in its field
        _applied(variant.set)


def test_each_row_is_the_verdict_of_its_variant_against_the_full_preset_paired_by_seed() -> None:
    full = {0: 0.80, 1: 0.78, 2: 0.83}
    flip_off = {0: 0.70, 1: 0.71, 2: 0.72}
    last = {0: 0.78, 1: 0.76, 2: 0.80}

    rows = ablation_rows(
        [("full preset", full), ("augment.horizontal_flip off", flip_off)],
        last_epoch=last,
        higher_is_better=True,
    )

    assert [(r.choice, r.variant, r.verdict) for r in rows] == [
        ("full preset", "as is", "reference"),
        ("augment.horizontal_flip", "augment.horizontal_flip off", "worse"),
        ("checkpoint: best epoch", "last epoch, not the best", "worse"),
    ]
    expected = verdict(full, flip_off)
    assert (rows[1].delta, rows[1].low, rows[1].high) == (
        expected.delta,
        expected.low,
        expected.high,
    )
    assert rows[0].n == 3 and rows[0].mean == pytest.approx(0.80333333)


def test_one_seed_per_variant_gives_no_verdict() -> None:
    rows = ablation_rows(
        [("full preset", {0: 0.8}), ("x off", {0: 0.7})], last_epoch={0: 0.8}, higher_is_better=True
    )

    assert [r.verdict for r in rows[1:]] == ["one seed", "one seed"]


def test_a_variant_that_makes_an_invalid_preset_is_refused_naming_it() -> None:
    result = CliRunner().invoke(cli, ["ablate", str(TINY), "--variant", "optimizer.momentum=0.9"])

    assert result.exit_code == 2
    assert "--variant optimizer.momentum=0.9: optimizer.momentum: momentum applies to sgd" in (
        result.output
    )
    assert not Path("sweeps").exists()


def test_a_variant_that_changes_nothing_is_refused() -> None:
    result = CliRunner().invoke(cli, ["ablate", str(TINY), "--variant", "optimizer.name=adamw"])

    assert result.exit_code == 2
    assert "--variant optimizer.name=adamw: the preset has this value already" in result.output


def test_the_plan_says_how_many_runs_and_that_the_time_is_unknown_without_an_earlier_run() -> None:
    result = CliRunner().invoke(
        cli, ["ablate", str(TINY), "--plan", "--variant", "optimizer.name=sgd"]
    )

    assert result.exit_code == 0, result.output
    assert "  augment.horizontal_flip off\n  optimizer.name=sgd\n" in result.output
    assert "plan: 3 runs, estimated time unknown" in result.output
    assert not Path("sweeps").exists()


@pytest.mark.slow
def test_kill_9_of_an_ablation_then_resume_gives_the_same_ablation_csv(
    subprocess_env: dict[str, str],
) -> None:
    args = [sys.executable, "-m", "hw3tui", "ablate", str(TINY), "-n", "2"]
    args += ["--set", "schedule.epochs=1"]
    done = subprocess.run(
        [*args, "--sweep-dir", "whole"], env=subprocess_env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "plan: 4 runs" in done.stdout  # 2 configurations × 2 seeds
    killed = subprocess.Popen(
        [*args, "--sweep-dir", "k"], env=subprocess_env, stdout=subprocess.DEVNULL
    )
    first = SweepDir(Path("k")).run_of(0, 0, 2)
    deadline = time.monotonic() + 600
    while not first.events_file.is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    killed.kill()  # kill -9: the ablation cannot clean up
    killed.wait()
    engine = getattr(first.read_status(), "pid", None)
    if isinstance(engine, int) and first.is_live():
        os.kill(engine, signal.SIGKILL)

    resumed = subprocess.run(
        [sys.executable, "-m", "hw3tui", "sweep", "resume", "k"],
        env=subprocess_env,
        capture_output=True,
        text=True,
    )

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "ablation: k/ablation.csv and k/ablation.png" in resumed.stdout  # the table, printed
    table = Path("k", "ablation.csv").read_text()
    assert table == Path("whole", "ablation.csv").read_text()
    rows = list(csv.reader(io.StringIO(table)))
    assert tuple(rows[0]) == COLUMNS
    assert [r[:2] for r in rows[1:]] == [
        ["full preset", "as is"],
        ["augment.horizontal_flip", "augment.horizontal_flip off"],
        ["checkpoint: best epoch", "last epoch, not the best"],
    ]
    assert [r[2] for r in rows[1:]] == ["2", "2", "2"]  # n: both seeds of each
    assert rows[2][6] and rows[2][7]  # with two seeds, an interval
    assert Path("k", "ablation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_plan_is_timed_by_an_earlier_run_of_the_preset() -> None:
    run = RunDir(Path("runs", "tiny-earlier"))
    run.path.mkdir(parents=True)
    run.preset_file.write_text(TINY.read_text())
    for epoch, seconds in enumerate((9.0, 11.0)):
        run.append_event({"type": "epoch_end", "time": 1.0, "epoch": epoch, "seconds": seconds})
    run.write_status(Status(state="done", started=1.0, ended=30.0, preset="tiny", epochs_done=2))

    result = CliRunner().invoke(cli, ["ablate", str(TINY), "--plan", "--set", "schedule.epochs=3"])
    bigger = CliRunner().invoke(cli, ["ablate", str(TINY), "--plan", "--set", "data.image_size=64"])

    # 2 configurations × 3 epochs × 10 s a epoch
    assert "plan: 2 runs, estimated time about 1 min 00 s (epochs of run tiny-earlier)" in (
        result.output
    )
    assert "plan: 2 runs, estimated time unknown" in bigger.output  # other images: not timed


def test_skip_leaves_a_variant_out_and_a_field_with_none_is_refused(tmp_path: Path) -> None:
    preset = tmp_path / "choices.yaml"
    preset.write_text(CHOICES)

    kept = CliRunner().invoke(
        cli, ["ablate", str(preset), "--plan", "--skip", "augment.random_crop"]
    )
    wrong = CliRunner().invoke(cli, ["ablate", str(preset), "--plan", "--skip", "augment.affine"])

    assert kept.exit_code == 0, kept.output
    assert "augment.random_crop off" not in kept.output
    assert "plan: 4 runs" in kept.output  # the preset and 3 of its 4 variants
    assert wrong.exit_code == 2
    assert "--skip augment.affine: no variant turns it off" in wrong.output


def test_without_an_earlier_run_the_plan_is_timed_by_cached_probe_rates(isolated: Path) -> None:
    cache = isolated.parent / "home" / ".cache" / "hw3tui" / "runtime-probe"
    cache.mkdir(parents=True)
    key = {"backbone": BACKBONE, "image_size": 32, "batch_sizes": [16]}
    rates = {"fp32 contiguous": {"16": 36.0}, "bf16 contiguous": {"16": "NaN"}}
    (cache / "answer.json").write_text(json.dumps({"key": key, "rates": rates}))

    result = CliRunner().invoke(cli, ["ablate", str(TINY), "--plan"])

    # 3 classes × (16 + 8) images at 36 images/s: 2 s an epoch, 2 epochs, 2 runs
    assert "plan: 2 runs, estimated time about 8 s (cached runtime probe rates)" in result.output
