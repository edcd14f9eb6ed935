"""A run's ending as the run directory records it: failures keep the best model and say why."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from engine_helpers import TINY, TinyNet

from hw3tui.engine.checkpoint import load_checkpoint
from hw3tui.engine.training.job import make_job, prepare
from hw3tui.engine.training.session import train
from hw3tui.preset import load_preset
from hw3tui.runs import RunDir
from hw3tui.runs.status import Status


@pytest.mark.slow
def test_a_nan_loss_fails_the_run_cleanly_and_keeps_the_best(tmp_path: Path) -> None:
    setup = prepare(load_preset(TINY, ["schedule.epochs=3"]), base_dir=tmp_path)
    setup.module = TinyNet(nan_at=5)  # 3 steps an epoch: NaN at epoch 1, step 1
    job = make_job(setup)
    run = RunDir.create(tmp_path / "runs", "tiny")
    status = Status(pid=1, started=0.0)

    outcome = train(job, setup, run, status, console=None)

    assert outcome.state == "failed"
    assert "epoch 1, step 1" in outcome.reason
    saved = run.read_status()
    assert saved is not None
    assert saved.state == "failed" and "epoch 1, step 1" in saved.reason
    assert saved.ended is not None and saved.epochs_done == 1
    events = run.events()
    assert events[-1]["type"] == "run_end" and events[-1]["state"] == "failed"
    assert events[-1]["best"]["epoch"] == 0
    _, info = load_checkpoint(run.path)
    assert info.epoch == 0


@pytest.mark.slow
def test_a_crash_fails_the_run_with_its_reason(tmp_path: Path) -> None:
    setup = prepare(load_preset(TINY, ["schedule.epochs=2"]), base_dir=tmp_path)
    setup.module = TinyNet(classes=2)  # 3 classes in the data: the loss cannot be computed
    job = make_job(setup)
    run = RunDir.create(tmp_path / "runs", "tiny")
    outcome = train(job, setup, run, Status(), console=None)
    assert outcome.state == "failed"
    assert "Traceback" in outcome.detail
    saved = run.read_status()
    assert saved is not None and saved.state == "failed"
    assert saved.reason.startswith(("IndexError", "RuntimeError"))
    assert run.events()[-1]["type"] == "run_end"


class OutOfMemory(TinyNet):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] >= 16:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return super().forward(x)


def test_out_of_memory_names_the_batch_size_that_failed(tmp_path: Path) -> None:
    setup = prepare(load_preset(TINY, ["schedule.batch_size={0: 8, 1: 16}"]), base_dir=tmp_path)
    setup.module = OutOfMemory()
    run = RunDir.create(tmp_path / "runs", "tiny")
    outcome = train(make_job(setup), setup, run, Status(), console=None)
    assert outcome.state == "failed"
    assert outcome.reason.startswith("out of memory at batch size 16 (epoch 1, step 0)")
    assert "lower schedule.batch_size" in outcome.reason
    saved = run.read_status()
    assert saved is not None and saved.state == "failed" and saved.best["epoch"] == 0
