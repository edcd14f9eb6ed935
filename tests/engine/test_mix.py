"""Label smoothing, mixup and cutmix: the training loss and targets they give, on tiny data."""

from __future__ import annotations

import pytest
import torch
from engine_helpers import TinyNet, job_from
from torch import nn

from hw3tui.engine.data.datasets import images_at
from hw3tui.engine.data.mix import BatchMix, dominant, mix_generator
from hw3tui.engine.training.loop import Job, train_step
from hw3tui.engine.training.meter import EpochMeter, Partial
from hw3tui.preset.models import Mix

CPU = torch.device("cpu")
MIXUP = "augment.mixup={alpha: 0.4, p: 1.0}"
CUTMIX = "augment.cutmix={alpha: 1.0, p: 1.0}"


def one_step_loss(job: Job, count: int) -> float:
    """The training loss `train_step` reports for the first `count` training images."""
    picked = list(range(count))
    batch = (images_at(job.train, picked), job.train.labels[picked])
    meter = EpochMeter(0, Partial(), CPU)
    train_step(job, batch, step=0, seed=0, share=1.0, meter=meter)
    return float(meter.loss_sum) / count


def test_label_smoothing_changes_the_train_loss_as_cross_entropy_says() -> None:
    job = job_from(["loss.label_smoothing=0.2", "augment.horizontal_flip=0"], module=TinyNet())
    picked = list(range(8))
    images, labels = images_at(job.train, picked), job.train.labels[picked]
    with torch.no_grad():
        logits = job.model(job.train_inputs(images, None))
    smoothed = nn.CrossEntropyLoss(label_smoothing=0.2)(logits, labels).item()
    plain = nn.CrossEntropyLoss()(logits, labels).item()

    loss = one_step_loss(job, 8)

    assert loss == pytest.approx(smoothed, rel=1e-6)
    assert abs(loss - plain) > 1e-3


@pytest.mark.parametrize("count", [1, 7, 8])
@pytest.mark.parametrize("kind", ["mixup", "cutmix"])
def test_mixed_targets_sum_to_one_for_any_batch_size(kind: str, count: int) -> None:
    mix = Mix(alpha=1.0, p=1.0)
    mixing = BatchMix(classes=3, **{kind: mix})
    images = torch.rand(count, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(count) % 3

    mixed, targets = mixing(images, labels, mix_generator(0, 0, 0))

    assert mixed.shape == images.shape
    assert targets.shape == (count, 3)
    torch.testing.assert_close(targets.sum(1), torch.ones(count))
    if count == 1:  # one image is mixed with itself: unchanged, its target one-hot
        torch.testing.assert_close(mixed, images)
        assert targets[0].tolist() == [1.0, 0.0, 0.0]
    else:  # each image is mixed with its neighbour, by the weight its target gives
        weight = targets[1, labels[1]].item()
        expected = weight * images[1] + (1 - weight) * images[0]
        if kind == "mixup":
            torch.testing.assert_close(mixed[1], expected)
        else:  # pixels come from either image, and as many of the neighbour's as its weight
            from_self = (mixed[1] == images[1]).all(0).float().mean().item()
            assert from_self == pytest.approx(weight)


def test_mixing_is_a_pure_function_of_the_step_and_leaves_the_global_stream() -> None:
    mixing = BatchMix(classes=3, mixup=Mix(alpha=1.0, p=1.0), cutmix=Mix(alpha=1.0, p=1.0))
    images, labels = torch.rand(6, 3, 8, 8), torch.arange(6) % 3
    before = torch.get_rng_state()

    first = mixing(images, labels, mix_generator(0, 2, 5))
    again = mixing(images, labels, mix_generator(0, 2, 5))
    other = mixing(images, labels, mix_generator(0, 2, 6))

    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[0], other[0])


def test_both_on_choose_one_per_batch_in_the_ratio_of_their_p() -> None:
    mixing = BatchMix(classes=3, mixup=Mix(alpha=1.0, p=0.5), cutmix=Mix(alpha=1.0, p=0.5))
    images, labels = torch.rand(4, 3, 8, 8), torch.arange(4) % 3
    kinds = {"none": 0, "mixup": 0, "cutmix": 0}
    for step in range(400):
        mixed, targets = mixing(images, labels, mix_generator(0, 0, step))
        if targets.ndim == 1:
            kinds["none"] += 1
        elif bool(((mixed == images) | (mixed == images.roll(1, 0))).all()):
            kinds["cutmix"] += 1  # every pixel is one image's or the other's
        else:
            kinds["mixup"] += 1
    # mixed with probability max(p) = 0.5, then half and half
    assert 160 < kinds["none"] < 240
    assert 60 < kinds["mixup"] < 140 and 60 < kinds["cutmix"] < 140


def test_accuracy_counts_against_the_dominant_label() -> None:
    targets = torch.tensor([[0.7, 0.3, 0.0], [0.0, 0.4, 0.6], [0.0, 1.0, 0.0]])
    assert dominant(targets).tolist() == [0, 2, 1]
    assert dominant(torch.tensor([2, 0])).tolist() == [2, 0]


@pytest.mark.parametrize("count", [1, 7])
def test_a_mixed_training_step_works_on_a_batch_of_one_and_an_odd_batch(count: int) -> None:
    job = job_from([MIXUP, CUTMIX, "loss.label_smoothing=0.1"], module=TinyNet())
    before = [p.detach().clone() for p in job.module.parameters()]

    loss = one_step_loss(job, count)

    assert loss == loss and loss > 0  # finite, not NaN
    after = list(job.module.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
