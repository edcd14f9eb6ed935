"""Batch augmentation: per-sample randomness, seeded, and each transform doing what it says."""

from __future__ import annotations

import pytest
import torch

from hw3tui.engine.data.augment import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Preprocess,
    affine,
    build_augment,
    grayscale,
    horizontal_flip,
    random_crop,
)
from hw3tui.preset.models import Augment

CPU = torch.device("cpu")


def batch(count: int = 16, size: int = 12) -> torch.Tensor:
    """Identical images with a left-right and top-bottom gradient, so every change shows."""
    x = torch.linspace(0, 1, size)
    image = torch.stack(
        [x.expand(size, size), x[:, None].expand(size, size), 1 - x.expand(size, size)]
    )
    return image.expand(count, 3, size, size).clone()


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def distinct(images: torch.Tensor) -> int:
    return len({tuple(image.flatten().tolist()) for image in images})


def test_flip_decides_per_image() -> None:
    out = horizontal_flip(p=0.5)(batch(), gen())
    flipped = [torch.equal(image, batch(1)[0].flip(-1)) for image in out]
    assert 0 < sum(flipped) < len(flipped)  # some flipped, some not: per image, not per batch
    assert all(f or torch.equal(image, batch(1)[0]) for f, image in zip(flipped, out, strict=True))


def test_flip_probability_extremes() -> None:
    assert torch.equal(horizontal_flip(p=1.0)(batch(), gen()), batch().flip(-1))
    assert torch.equal(horizontal_flip(p=0.0)(batch(), gen()), batch())


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_random_crop_keeps_size_and_moves_each_image(mode: str) -> None:
    out = random_crop(padding=3, padding_mode=mode)(batch(), gen())
    assert out.shape == batch().shape
    assert distinct(out) > 4


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
@pytest.mark.parametrize("padding", [1, 4, 11, 30])
def test_random_crop_pads_as_torchvision_does(mode: str, padding: int) -> None:
    """Cropping from computed indices (no padded copy, no index tensors built from Python lists:
    those are host-to-GPU copies that sync) gives torchvision's padding, pixel for pixel."""
    from torchvision.transforms.v2 import functional as TF

    images = torch.rand(6, 3, 12, 9)
    out = random_crop(padding=padding, padding_mode=mode)(images, gen(5))
    pad = padding if mode in ("constant", "edge") else min(padding, 11, 8)
    padded = TF.pad(images, [pad] * 4, padding_mode=mode)
    draws = gen(5)
    top = torch.randint(0, 2 * pad + 1, (6,), generator=draws)
    left = torch.randint(0, 2 * pad + 1, (6,), generator=draws)
    for i in range(6):
        t, l_ = int(top[i]), int(left[i])
        assert torch.equal(out[i], padded[i, :, t : t + 12, l_ : l_ + 9]), i


def test_random_crop_window_is_a_shifted_copy() -> None:
    out = random_crop(padding=2, padding_mode="constant")(batch(8, 10), gen(1))
    padded = torch.nn.functional.pad(batch(8, 10), (2, 2, 2, 2))
    for image, source in zip(out, padded, strict=True):
        windows = [
            torch.equal(image, source[:, top : top + 10, left : left + 10])
            for top in range(5)
            for left in range(5)
        ]
        assert any(windows)


def test_affine_differs_per_image_and_identity_when_zero() -> None:
    out = affine(degrees=30, translate=(0.1, 0.1), scale=(0.8, 1.2))(batch(), gen())
    assert distinct(out) == 16
    same = affine(degrees=0, translate=(0.0, 0.0), scale=(1.0, 1.0))(batch(), gen())
    assert torch.allclose(same, batch(), atol=1e-5)


def test_affine_translation_moves_content_and_fills_black() -> None:
    images = torch.zeros(8, 3, 16, 16)
    images[:, :, :, 7:9] = 1.0  # a bright vertical bar in the middle
    out = affine(degrees=0, translate=(0.25, 0.0), scale=(1.0, 1.0))(images, gen(3))
    columns = [int(image[0].sum(0).argmax()) for image in out]
    assert len(set(columns)) > 1  # each image shifted by its own amount
    assert all(3 <= c <= 12 for c in columns)  # by at most a quarter of the width
    assert torch.allclose(out.sum(dim=(1, 2, 3)), images.sum(dim=(1, 2, 3)), rtol=0.05)


def test_grayscale_decides_per_image() -> None:
    out = grayscale(p=0.5)(batch(), gen())
    grey = [
        bool(torch.allclose(image[0], image[1]) and torch.allclose(image[1], image[2]))
        for image in out
    ]
    assert 0 < sum(grey) < len(grey)


def test_same_generator_same_augmentation_different_seed_different() -> None:
    steps = build_augment(
        Augment.model_validate(
            {"horizontal_flip": 0.5, "random_crop": {"padding": 2}, "affine": {}, "grayscale": 0.2}
        )
    )
    pipeline = Preprocess(steps, device=CPU, channels_last=False)
    images = (batch() * 255).to(torch.uint8)
    a, b, c = (pipeline(images, gen(seed)) for seed in (7, 7, 8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert distinct(a) == 16


def test_build_augment_maps_the_preset_one_to_one() -> None:
    assert build_augment(Augment()) == []
    full = Augment.model_validate(
        {"horizontal_flip": 0.5, "random_crop": {}, "affine": {}, "grayscale": 0.1}
    )
    assert len(build_augment(full)) == 4


def test_preprocess_normalizes_with_imagenet_statistics_and_layout() -> None:
    images = torch.full((2, 3, 4, 4), 255, dtype=torch.uint8)
    out = Preprocess([], device=CPU, channels_last=True)(images, None)
    expected = [(1 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True)]
    assert torch.allclose(out[0, :, 0, 0], torch.tensor(expected))
    assert out.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("mode", ["edge", "reflect", "symmetric"])
def test_random_crop_builds_no_tensor_from_python_values(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a GPU, `torch.tensor([...], device=cuda)` is a blocking host-to-device copy: a host
    sync per step (torchvision's symmetric padding made two). The crop builds none."""

    def host_copy(*args: object, **kwargs: object) -> torch.Tensor:
        raise AssertionError("a tensor built from Python values (a host sync on a GPU)")

    images = batch()
    monkeypatch.setattr(torch, "tensor", host_copy)
    out = random_crop(padding=3, padding_mode=mode)(images, gen())
    assert out.shape == images.shape
