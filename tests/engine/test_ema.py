"""`ema` in the preset: the weights' moving average is evaluated beside them and kept as best/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import safetensors.torch
import torch
import torchvision
from click.testing import CliRunner

from hw3tui.cli import cli
from hw3tui.engine.checkpoint import load_checkpoint
from hw3tui.runs import RunDir
from tests.tiny import BACKBONE

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "tests" / "data" / "tiny.yaml")


def _run(folder: str, *sets: str) -> RunDir:
    run = RunDir(Path(folder))
    args = ["run", TINY, "--run-dir", str(run.path)]
    result = CliRunner().invoke(cli, [*args, *(a for s in sets for a in ("--set", s))])
    assert result.exit_code == 0, result.output
    return run


@pytest.mark.slow
def test_an_ema_runs_best_is_the_average_and_loads_strictly_into_torchvision() -> None:
    run = _run("runs/ema", "schedule.epochs=1", "ema={decay: 0.9, warmup_epochs: 0}")

    best, info = load_checkpoint(run.best_dir)
    raw = safetensors.torch.load_file(str(run.state_dir / "model.safetensors"))
    assert info.epoch == 0 and best.keys() == raw.keys()  # the plain network's keys
    assert any(not torch.equal(best[k], raw[k]) for k in raw)  # the average, not the weights
    model = torchvision.models.get_model(BACKBONE, num_classes=3)
    model.load_state_dict(best, strict=True)  # no `module.` prefix, no `n_averaged`

    averaged = safetensors.torch.load_file(str(run.state_dir / "ema.safetensors"))
    assert averaged["n_averaged"].item() > 0  # state/ carries the average for resume
    assert all(torch.equal(best[k], averaged[f"module.{k}"]) for k in best)

    events = [json.loads(line) for line in run.events_file.read_text().splitlines()]
    (end,) = [e for e in events if e["type"] == "epoch_end"]
    assert 0.0 <= end["val_acc_raw"] <= 1.0 and end["val_loss_raw"] != end["val_loss"]


def test_ema_decay_outside_its_range_is_bad_input() -> None:
    result = CliRunner().invoke(cli, ["validate", TINY, "--set", "ema.decay=1.0"])
    assert result.exit_code == 2
    assert "ema.decay" in result.output
