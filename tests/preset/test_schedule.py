"""Schedules: every form's value per epoch, plateau reactions, and their validation."""

from __future__ import annotations

import math
from typing import Any

import pytest

from hw3tui.preset.models import Preset
from hw3tui.preset.schedule import Scheduler, describe, planned_steps, preview


def schedule(epochs: int, **fields: Any) -> Preset:
    return Preset.model_validate({"schedule": {"epochs": epochs, **fields}})


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (0.01, [0.01] * 5),
        ({0: 0.1, 2: 0.01, 4: 0.001}, [0.1, 0.1, 0.01, 0.01, 0.001]),
        ([0.5, 0.4, 0.3, 0.2, 0.1], [0.5, 0.4, 0.3, 0.2, 0.1]),
        ({"linear": {"start": 0.1, "end": 0.5}}, [0.1, 0.2, 0.3, 0.4, 0.5]),
        ({"cosine": {"start": 1.0, "end": 0.0}}, [1.0, 0.853553, 0.5, 0.146447, 0.0]),
        ({"plateau": {"start": 0.3, "factor": 0.5}}, [0.3] * 5),
    ],
    ids=["constant", "by-epoch", "list", "linear", "cosine", "plateau-start"],
)
def test_value_per_epoch(spec: Any, expected: list[float]) -> None:
    # weight decay admits every form and reaches 0, so one table covers them all
    preset = schedule(5, weight_decay=spec)
    assert preview(preset.schedule.weight_decay, 5) == pytest.approx(expected, abs=1e-6)
    scheduler = Scheduler(preset.schedule.weight_decay, 5)
    assert [scheduler.at(e) for e in range(5)] == pytest.approx(expected, abs=1e-6)


def test_batch_size_schedules_are_whole_positive_numbers() -> None:
    preset = schedule(4, batch_size={"linear": {"start": 32, "end": 128}})
    assert preview(preset.schedule.batch_size, 4, integer=True) == [32, 64, 96, 128]
    assert Scheduler(preset.schedule.batch_size, 4, integer=True).at(1) == 64


def test_one_epoch_ramp_uses_its_start() -> None:
    preset = schedule(1, lr={"linear": {"start": 0.1, "end": 0.001}})
    assert preview(preset.schedule.lr, 1) == [0.1]


def test_plateau_lowers_after_patience_and_respects_min() -> None:
    preset = schedule(
        10, lr={"plateau": {"start": 0.1, "factor": 0.1, "patience": 2, "min": 0.005}}
    )
    lr = Scheduler(preset.schedule.lr, 10)
    seen = []
    for val_acc in [0.5, 0.6, 0.6, 0.55, 0.7, 0.7, 0.69, 0.69, 0.69]:
        lr.observe(val_acc)
        seen.append(lr.at(0))
    # two epochs without a new best -> x0.1; the second drop is clamped at min
    assert seen == pytest.approx([0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.005, 0.005, 0.005])


def test_plateau_can_raise_a_batch_size_up_to_max() -> None:
    preset = schedule(
        10, batch_size={"plateau": {"start": 32, "factor": 2, "patience": 1, "max": 100}}
    )
    batch = Scheduler(preset.schedule.batch_size, 10, integer=True)
    sizes = []
    for val_acc in [0.5, 0.4, 0.4, 0.4]:
        batch.observe(val_acc)
        sizes.append(batch.at(0))
    assert sizes == [32, 64, 100, 100]


def test_plateau_state_survives_a_round_trip() -> None:
    preset = schedule(10, lr={"plateau": {"start": 0.1, "factor": 0.5, "patience": 1}})
    first = Scheduler(preset.schedule.lr, 10)
    for val_acc in [0.5, 0.4]:
        first.observe(val_acc)
    second = Scheduler(preset.schedule.lr, 10)
    second.load_state_dict(first.state_dict())
    second.observe(0.3)
    assert second.at(0) == pytest.approx(0.025)


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        (0.01, "0.01"),
        ({0: 0.1, 15: 0.01}, "0.1 from epoch 0, 0.01 from epoch 15"),
        ({"linear": {"start": 0.1, "end": 0.01}}, "linear 0.1 → 0.01"),
        ({"plateau": {"start": 0.1, "factor": 0.5}}, "×0.5 after 3 epochs"),
    ],
)
def test_describe(spec: Any, text: str) -> None:
    assert text in describe(schedule(20, lr=spec).schedule.lr)


def test_shipped_recipe_lowers_lr_raises_batch_and_weight_decay() -> None:
    from hw3tui.preset import load_preset

    preset = load_preset("resnet50").preset.schedule
    lr = preview(preset.lr, preset.epochs)
    batch = preview(preset.batch_size, preset.epochs, integer=True)
    decay = preview(preset.weight_decay, preset.epochs)
    assert lr[0] > lr[20] > lr[40]
    assert batch[0] < batch[15] < batch[25]
    assert decay[0] < decay[25] < decay[49]
    assert preset.epochs == 50
    assert not any(math.isnan(v) for v in lr + decay)


@pytest.mark.parametrize(
    ("batch_size", "steps"),
    [
        (16, 3 * 4),  # 48 images: 3 full batches an epoch
        (10, 5 * 4),  # the last, short batch counts
        ({0: 8, 2: 48}, 6 + 6 + 1 + 1),  # each epoch at the size it starts with
        ({"plateau": {"start": 12, "factor": 2}}, 4 * 4),  # its later sizes are not known
    ],
    ids=["constant", "short-last-batch", "by-epoch", "plateau"],
)
def test_planned_steps_count_each_epochs_batches(batch_size: Any, steps: int) -> None:
    assert planned_steps(schedule(4, batch_size=batch_size).schedule, 48) == steps
