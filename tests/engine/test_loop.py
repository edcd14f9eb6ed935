"""The loop itself: schedules in the optimizer and loader, best epoch, NaN, early stop, plateau,
cancel and an exact mid-epoch resume (in process, on tiny data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from engine_helpers import TinyNet, job_from

from hw3tui.engine.training.hyper import improves
from hw3tui.engine.training.loop import Job, StopFlag, fit
from hw3tui.engine.training.meter import NonFiniteLoss
from hw3tui.engine.training.state import _load_optimizer, load_state, save_state
from hw3tui.preset.schedule import preview
from hw3tui.runs.events import Event


class Recorder:
    """`Outputs` that keeps everything in memory, and what the optimizer held each epoch."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.events: list[Event] = []
        self.saved: list[tuple[int, float]] = []
        self.groups: dict[int, list[tuple[float, float]]] = {}
        self.states = 0

    def emit(self, record: Event) -> None:
        self.events.append(record)
        if record["type"] == "epoch_start":
            groups = self.job.optimizer.param_groups
            self.groups[record["epoch"]] = [(g["lr"], g["weight_decay"]) for g in groups]

    def save_best(self, job: Job, epoch: int, value: float) -> str:
        self.saved.append((epoch, value))
        return "best/x.safetensors"

    def save_state(self, job: Job) -> None:
        self.states += 1

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e["type"] == kind]


def batch_sizes_seen(job: Job) -> dict[int, list[int]]:
    """Record the size of every training batch the model sees, by epoch."""
    seen: dict[int, list[int]] = {}

    def hook(module: torch.nn.Module, args: tuple[Any, ...]) -> None:
        if module.training:
            seen.setdefault(job.state.epoch, []).append(args[0].shape[0])

    job.module.register_forward_pre_hook(hook)
    return seen


@pytest.mark.slow
def test_lr_weight_decay_and_batch_size_follow_their_schedules() -> None:
    job = job_from(
        [
            "schedule.epochs=3",
            "schedule.lr={0: 0.01, 1: 0.005, 2: 0.001}",
            "schedule.batch_size=[8, 16, 12]",
            "schedule.weight_decay={linear: {start: 0.0, end: 0.001}}",
        ],
        module=TinyNet(),
    )
    seen = batch_sizes_seen(job)
    out = Recorder(job)
    assert fit(job, out, StopFlag()).state == "done"
    lrs, wds = preview(job.preset.schedule.lr, 3), preview(job.preset.schedule.weight_decay, 3)
    for epoch, batch_size in enumerate([8, 16, 12]):
        assert all(group == (lrs[epoch], wds[epoch]) for group in out.groups[epoch])
        sizes = seen[epoch]
        assert max(sizes) == batch_size and all(s == batch_size for s in sizes[:-1])
        assert sum(sizes) == 48
        start = out.of("epoch_start")[epoch]
        end = out.of("epoch_end")[epoch]
        for record in (start, end):
            assert (record["lr"], record["batch_size"], record["weight_decay"]) == (
                lrs[epoch],
                batch_size,
                wds[epoch],
            )


@pytest.mark.slow
def test_the_best_checkpoint_is_the_epoch_with_the_best_val_acc() -> None:
    job = job_from(["schedule.epochs=5", "schedule.lr=0.01"], module=TinyNet())
    out = Recorder(job)
    fit(job, out, StopFlag())
    accuracies = [e["val_acc"] for e in out.of("epoch_end")]
    best = max(accuracies)
    assert out.saved[-1] == (accuracies.index(best), best)
    # saved exactly when the accuracy beat every earlier epoch
    expected = [
        (i, a) for i, a in enumerate(accuracies) if all(a > earlier for earlier in accuracies[:i])
    ]
    assert out.saved == expected
    assert [e["epoch"] for e in out.of("checkpoint")] == [i for i, _ in expected]
    assert (job.state.best_epoch, job.state.best_value) == out.saved[-1]
    assert out.states == 5  # resumable state after every epoch


def test_one_comparator_for_both_metrics() -> None:
    assert improves(0.5, None, monitor="val_acc")
    assert improves(0.6, 0.5, monitor="val_acc") and not improves(0.5, 0.5, monitor="val_acc")
    assert not improves(0.55, 0.5, monitor="val_acc", min_delta=0.1)
    assert improves(0.4, 0.5, monitor="val_loss") and not improves(0.6, 0.5, monitor="val_loss")
    assert not improves(float("nan"), None, monitor="val_loss")


@pytest.mark.slow
def test_a_nan_loss_stops_naming_epoch_and_step() -> None:
    # 48 images in batches of 16: 3 steps an epoch; the 5th forward is epoch 1, step 1
    job = job_from(["schedule.epochs=3"], module=TinyNet(nan_at=5))
    out = Recorder(job)
    with pytest.raises(NonFiniteLoss, match="epoch 1, step 1"):
        fit(job, out, StopFlag())
    assert [e["epoch"] for e in out.of("epoch_end")] == [0]
    assert out.saved and out.saved[0][0] == 0  # the best model so far was kept
    assert out.states == 1  # no state saved after the NaN


@pytest.mark.slow
def test_early_stop_after_patience_epochs_without_a_better_metric() -> None:
    job = job_from(
        ["schedule.epochs=8", "schedule.lr=1.0e-9", "schedule.early_stop={patience: 2}"],
        module=TinyNet(norm=False),
    )
    out = Recorder(job)
    outcome = fit(job, out, StopFlag())
    assert (
        outcome.state == "done" and outcome.reason == "early stop: no better val_acc for 2 epochs"
    )
    assert len(out.of("epoch_end")) == 3  # the first epoch is the best; two more without a better


@pytest.mark.slow
def test_plateau_lowers_the_lr_when_val_acc_stalls() -> None:
    job = job_from(
        [
            "schedule.epochs=5",
            "schedule.lr={plateau: {start: 1.0e-9, factor: 0.5, patience: 1}}",
        ],
        module=TinyNet(norm=False),
    )
    out = Recorder(job)
    fit(job, out, StopFlag())
    accuracies = [e["val_acc"] for e in out.of("epoch_end")]
    lrs = [e["lr"] for e in out.of("epoch_start")]
    expected, best = [1.0e-9], None
    for acc in accuracies[:-1]:
        if best is None or acc > best:
            best, value = acc, expected[-1]
        else:
            value = expected[-1] * 0.5
        expected.append(value)
    assert lrs == pytest.approx(expected)
    assert lrs[-1] < lrs[0]


class StopAt:
    """Request a stop at the n-th training forward (as a signal handler would)."""

    def __init__(self, job: Job, flag: StopFlag, at: int) -> None:
        self.calls, self.flag, self.at = 0, flag, at
        job.module.register_forward_pre_hook(self.hook)

    def hook(self, module: torch.nn.Module, args: tuple[Any, ...]) -> None:
        if module.training:
            self.calls += 1
            if self.calls == self.at:
                self.flag.request("SIGINT")


METRICS = ("train_loss", "train_acc", "val_loss", "val_acc")
RESUMABLE = [
    "schedule.epochs=3",
    "schedule.batch_size=8",
    "augment.affine={degrees: 10}",
    "augment.random_crop={padding: 2}",
    "optimizer.name=adam",
]


@pytest.mark.slow
def test_cancel_part_way_and_resume_gives_the_same_model(tmp_path: Path) -> None:
    whole = job_from(RESUMABLE, module=TinyNet())
    whole_out = Recorder(whole)
    fit(whole, whole_out, StopFlag())

    first = job_from(RESUMABLE, module=TinyNet())
    flag = StopFlag()
    StopAt(first, flag, at=9)  # 6 steps an epoch: epoch 1, step 2
    outcome = fit(first, Recorder(first), flag)
    assert outcome.state == "cancelled"
    assert (first.state.epoch, first.state.step) == (1, 3)
    assert first.state.partial is not None and first.state.partial.seen == 24
    save_state(first, tmp_path / "state")

    second = job_from(RESUMABLE, module=TinyNet())
    load_state(second, tmp_path / "state")
    second_out = Recorder(second)
    assert fit(second, second_out, StopFlag()).state == "done"

    for key, tensor in whole.module.state_dict().items():
        assert torch.equal(tensor, second.module.state_dict()[key]), key
    resumed = {e["epoch"]: [e[m] for m in METRICS] for e in second_out.of("epoch_end")}
    for record in whole_out.of("epoch_end")[1:]:
        assert [record[m] for m in METRICS] == resumed[record["epoch"]]


@pytest.mark.parametrize("name", ["adamw", "sgd"])
def test_a_resumed_optimizer_keeps_its_state_laid_out_like_its_parameters(
    tmp_path: Path, name: str
) -> None:
    """channels_last weights: the saved optimizer state is contiguous on disk, and comes back
    with each parameter's own strides (the multi-tensor and fused kernels need them alike)."""
    momentum = "optimizer.momentum=0.9" if name == "sgd" else "optimizer.betas=[0.9, 0.999]"
    overrides = [*RESUMABLE, "runtime.channels_last=true", f"optimizer.name={name}", momentum]
    first = job_from([*overrides, "schedule.epochs=1"], module=TinyNet())
    fit(first, Recorder(first), StopFlag())
    save_state(first, tmp_path / "state")
    second = job_from(overrides, module=TinyNet())
    load_state(second, tmp_path / "state")
    conv = second.module.features[0].weight
    assert not conv.is_contiguous()  # channels_last, the case that matters
    state = second.optimizer.state
    assert state, "the optimizer state was restored"
    for param, entries in state.items():
        for key, value in entries.items():
            if value.dim():
                assert value.stride() == param.stride(), key
    assert fit(second, Recorder(second), StopFlag()).state == "done"


def test_optimizers_are_fused_on_cuda_only() -> None:
    """Fused kernels on CUDA (one launch per step, and GradScaler needs no host sync); a resume
    keeps what this run's device built, whatever the saved state says."""
    from hw3tui.engine.training.job import make_optimizer
    from hw3tui.preset.models import Optimizer

    for name in ("sgd", "adam", "adamw"):
        spec = Optimizer(name=name)
        fused = make_optimizer(spec, TinyNet(), lr=0.1, wd=0.0, fused=True)
        plain = make_optimizer(spec, TinyNet(), lr=0.1, wd=0.0)
        assert fused.defaults["fused"] is True and fused._step_supports_amp_scaling  # type: ignore[attr-defined]
        assert not plain.defaults["fused"]
        fused.zero_grad()
        saved = fused.state_dict()
        _load_optimizer(plain, saved)
        assert not plain.param_groups[0]["fused"]


def test_the_current_gpus_generator_is_saved_and_restored_whatever_the_gpu_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run saved on one GPU of eight resumes on a machine with one: the dropout stream of
    the GPU it trains on comes back (it was dropped when the GPU counts differed)."""
    from hw3tui.engine.training import state as state_module

    saved = torch.arange(16, dtype=torch.uint8)
    restored: list[torch.Tensor] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda device="cuda": saved)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 8)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 3)
    tensors = state_module._torch_rng()
    assert torch.equal(tensors["cuda"], saved)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda s, device="cuda": restored.append(s))
    python = state_module._python_rng()
    numpy = state_module._numpy_rng()
    state_module._restore_rng({"python": python, "numpy": numpy}, tensors)
    assert len(restored) == 1 and torch.equal(restored[0], saved)
