"""A few training images under several draws of the preset's augmentation, for `hw3tui augment`.

What you see is what trains: the images come from the preset's own training split (as the run
would load it), and each draw goes through the engine's `Preprocess` with the preset's
`build_augment` steps and a `step_generator` (and mixup/cutmix, mixing each image with the one
above it), the very code `fit` runs. The result is plain uint8
arrays (de-normalised), for the torch-free figure code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hw3tui.engine.data.augment import Preprocess, build_augment, step_generator
from hw3tui.engine.data.datasets import images_at, load_dataset
from hw3tui.engine.data.mix import build_mix, mix_generator
from hw3tui.preset.models import Preset

CPU = torch.device("cpu")


@dataclass(frozen=True)
class AugmentPreview:
    """`originals[i]` (H, W, 3) uint8 as the val transform gives it, and `draws[i][j]` its j-th
    augmented version."""

    originals: np.ndarray
    """uint8 (N, H, W, 3)."""
    draws: np.ndarray
    """uint8 (N, D, H, W, 3)."""
    labels: list[str]


def augment_preview(
    preset: Preset, *, base_dir: Path, images: int = 4, draws: int = 5
) -> AugmentPreview:
    """`images` training images (one per class first, seeded), each under `draws` draws."""
    data = preset.data
    if data.source != "shapes":
        data = data.model_copy(update={"cache": False})  # decode only the images shown
    dataset = load_dataset(data, seed=preset.seed, base_dir=base_dir)
    train = dataset.train
    picked = _pick(train.labels, images, seed=preset.seed)
    batch = images_at(train, picked)
    mix = build_mix(preset.augment, classes=len(dataset.classes))
    train_inputs = Preprocess(
        build_augment(preset.augment), device=CPU, channels_last=False, mix=mix
    )
    val_inputs = Preprocess([], device=CPU, channels_last=False)
    originals = val_inputs.to_pixels(val_inputs(batch, None))
    # one training step's generators per draw: each column is what one step would do (with
    # mixup/cutmix, image i is mixed with image i-1, its neighbour in this batch)
    columns = [
        train_inputs.to_pixels(_drawn(train_inputs, batch, train.labels[picked], preset.seed, step))
        for step in range(draws)
    ]
    labels = [dataset.classes[int(train.labels[i])] for i in picked]
    return AugmentPreview(originals, np.stack(columns, axis=1), labels)


def _drawn(
    inputs: Preprocess, batch: torch.Tensor, labels: torch.Tensor, seed: int, step: int
) -> torch.Tensor:
    generator = step_generator(seed, 0, step, CPU)
    mixing = mix_generator(seed, 0, step) if inputs.mix is not None else None
    return inputs.with_targets(batch, labels, generator, mixing)[0]


def _pick(labels: torch.Tensor, count: int, *, seed: int) -> list[int]:
    """Seeded choice of `count` images, going round the classes so that each shows up."""
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed)).tolist()
    by_class: dict[int, list[int]] = {}
    for i in order:
        by_class.setdefault(int(labels[i]), []).append(i)
    picked: list[int] = []
    while len(picked) < min(count, len(order)):
        for members in by_class.values():
            if members and len(picked) < count:
                picked.append(members.pop())
    return picked
