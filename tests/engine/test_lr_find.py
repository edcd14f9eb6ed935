"""The lr range test: its suggestion on constructed curves, and a test on a tiny job that leaves
the job's model, optimizer and every random stream exactly as they were."""

from __future__ import annotations

import copy
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from hw3tui.cli import cli
from hw3tui.engine.training.job import make_job, prepare
from hw3tui.engine.training.lr_find import lr_range_test, ramp, smooth, suggest
from hw3tui.preset import load_preset
from tests.tiny import BACKBONE

TINY = Path(__file__).resolve().parent.parent / "data" / "tiny.yaml"


def _curve(spike: bool) -> tuple[list[float], list[float]]:
    """Flat until 1e-4, falling to 1e-2, then climbing: with an early spike that drops back."""
    lrs = ramp(1e-7, 10.0, 100)
    losses = []
    for i, lr in enumerate(lrs):
        x = math.log10(lr)
        loss = 2.3 if x < -4 else 2.3 - 0.9 * (x + 4) if x < -2 else 0.5 + 3 * (x + 2) ** 2
        if spike and i == 2:
            loss = 5.0  # a fresh head's first steps: the drop after it is the steepest naively
        losses.append(loss)
    return lrs, losses


@pytest.mark.parametrize("spike", [False, True])
def test_the_suggestion_lies_in_the_descending_part(spike: bool) -> None:
    lrs, losses = _curve(spike)
    suggestion = suggest(lrs, smooth(losses))
    assert suggestion is not None
    assert 1e-4 <= suggestion <= 1e-2


def test_without_skipping_the_early_spike_fools_the_suggestion() -> None:
    lrs, losses = _curve(spike=True)
    naive = suggest(lrs, smooth(losses), skip=0.0)
    assert naive is not None and naive < 1e-5  # why the first points are left out


def test_no_descent_no_suggestion() -> None:
    lrs = ramp(1e-7, 10.0, 50)
    assert suggest(lrs, [1.0 + i for i in range(50)]) is None


def test_smoothing_is_bias_corrected() -> None:
    assert smooth([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])


def test_the_range_test_touches_nothing_of_the_job() -> None:
    setup = prepare(load_preset(TINY), base_dir=Path.cwd())
    job = make_job(setup)
    torch.manual_seed(123)
    np.random.seed(7)
    random.seed(5)
    weights = {k: v.clone() for k, v in job.module.state_dict().items()}
    optimizer = copy.deepcopy(job.optimizer.state_dict())
    streams = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    curve = lr_range_test(job, start=1e-5, end=1.0, steps=12)
    assert len(curve.losses) >= 1
    after = job.module.state_dict()
    assert all(torch.equal(weights[k], after[k]) for k in weights)
    assert job.optimizer.state_dict() == optimizer
    assert torch.equal(torch.get_rng_state(), streams[0])
    np_state = np.random.get_state()
    assert np_state[0] == streams[1][0] and np.array_equal(np_state[1], streams[1][1])
    assert random.getstate() == streams[2]
    assert job._train_batches is None  # the run's own data iterator was never made


def test_the_command_prints_a_set_line_and_writes_the_figure(tmp_path: Path) -> None:
    figure = tmp_path / "lr.png"
    result = CliRunner().invoke(
        cli,
        [
            "lr-find",
            str(TINY),
            "--steps",
            "12",
            "--start",
            "1e-5",
            "-o",
            str(figure),
            "--nproc",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "runs in one process (not 2)" in result.output
    assert "--set schedule.lr=" in result.output or "no suggestion" in result.output
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_json_prints_the_curve_alone_on_stdout(tmp_path: Path) -> None:
    """`--json`: what the TUI's lr finder reads (its child is this command): one JSON object on
    stdout, the notes on stderr."""
    result = CliRunner().invoke(
        cli, ["lr-find", str(TINY), "--steps", "12", "--start", "1e-5", "--json"]
    )
    assert result.exit_code == 0, result.output
    curve = json.loads(result.stdout)
    assert curve["preset"] == "tiny" and curve["backbone"] == BACKBONE
    assert len(curve["lrs"]) == len(curve["losses"]) == len(curve["smoothed"]) <= 12
    assert curve["lrs"][0] == pytest.approx(1e-5)
    assert curve["suggestion"] is None or curve["lrs"][0] <= curve["suggestion"] <= 10
    assert isinstance(curve["diverged"], bool)
    assert "drawing" in result.stderr
