"""Training augmentation on whole batches, on the training device, with per-sample randomness.

torchvision's v2 transforms applied to a batch tensor draw one random decision for the whole
batch (every image flipped, or none). Here each transform draws its parameters per image from an
explicit generator (seeded by run seed, epoch and step, so a resumed run replays them) and applies
them with batched kernels: a mask for flips and grayscale, an index gather for crops, one affine
grid per image for rotation/translation/scale.

On a GPU the generator lives on the GPU (`step_generator`), so the parameters are drawn where
the batch is: a CPU-drawn tensor moved to the GPU would be a blocking copy, a host sync per
transform per step, which stops the CPU from queueing work ahead of the GPU.

Each builder is small and keyword-only, and takes exactly the fields of its preset model
(`hw3tui.preset.models.Augment`), so `build_augment` is a one-to-one mapping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

from hw3tui.engine.data.mix import BatchMix
from hw3tui.engine.seeds import Stream, derived_seed
from hw3tui.preset.models import Augment
from hw3tui.preset.torchvision_code import IMAGENET_MEAN as IMAGENET_MEAN
from hw3tui.preset.torchvision_code import IMAGENET_STD as IMAGENET_STD

BatchTransform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
"""Float batch (B, 3, H, W) in [0, 1] and a generator (on the CPU or the batch's device) ->
augmented batch."""


def step_generator(seed: int, epoch: int, step: int, device: torch.device) -> torch.Generator:
    """The augmentation generator of one training step, a pure function of (seed, epoch, step).

    On CUDA it is a CUDA generator, so parameters are drawn on the GPU without a host sync (a run
    resumed on a GPU replays a GPU run's augmentation; CPU and GPU streams differ). Elsewhere it
    is the CPU generator `torch_generator(seed, Stream.AUGMENT, epoch, step)`.
    """
    generator = torch.Generator(device=device if device.type == "cuda" else "cpu")
    generator.manual_seed(derived_seed(seed, Stream.AUGMENT, epoch, step))
    return generator


def _rand(count: int, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(count, generator=generator, device=generator.device)


def _uniform(count: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * _rand(count, generator)


def _chosen(count: int, p: float, generator: torch.Generator) -> torch.Tensor:
    return _rand(count, generator) < p


def horizontal_flip(*, p: float) -> BatchTransform:
    """Mirror each image left to right with probability `p`."""

    def apply(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        flip = _chosen(batch.shape[0], p, generator).to(batch.device)
        return torch.where(flip[:, None, None, None], TF.horizontal_flip(batch), batch)

    return apply


def random_crop(*, padding: int, padding_mode: str) -> BatchTransform:
    """Pad each side by `padding` (filled per `padding_mode`), then crop a random window of the
    original size from each image."""

    def apply(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        count, _, height, width = batch.shape
        # reflect/symmetric padding cannot reach past the image itself
        pad = padding if padding_mode == "constant" or padding_mode == "edge" else None
        pad = min(padding, height - 1, width - 1) if pad is None else pad
        if pad <= 0:
            return batch
        where = generator.device
        top = torch.randint(0, 2 * pad + 1, (count,), generator=generator, device=where)
        left = torch.randint(0, 2 * pad + 1, (count,), generator=generator, device=where)
        top, left = top.to(batch.device), left.to(batch.device)
        # each window's rows and columns, counted from the original image's top-left corner
        rows = top[:, None] + torch.arange(-pad, height - pad, device=batch.device)
        cols = left[:, None] + torch.arange(-pad, width - pad, device=batch.device)
        if padding_mode == "constant":
            source = F.pad(batch, [pad, pad, pad, pad])
            rows, cols = rows + pad, cols + pad
        else:
            # the other modes pad with the image's own pixels: index them directly. (torchvision's
            # symmetric padding builds its index tensors from Python lists, a blocking host-to-GPU
            # copy twice a step; these are computed on the device.)
            source = batch
            rows = _source_index(rows, height, padding_mode)
            cols = _source_index(cols, width, padding_mode)
        images = torch.arange(count, device=batch.device)[:, None, None]
        # advanced indexing puts the indexed dims first: (B, H, W, C)
        cropped: torch.Tensor = source[images, :, rows[:, :, None], cols[:, None, :]]
        return cropped.permute(0, 3, 1, 2)

    return apply


def _source_index(index: torch.Tensor, size: int, padding_mode: str) -> torch.Tensor:
    """Where position `index` (from -pad to size + pad - 1, pad < size) of a padded row or
    column takes its pixel in the original one, for `edge`, `reflect` (mirrored about the edge
    pixel: ... 2 1 | 0 1 2 ...) and `symmetric` (the edge pixel repeated: ... 1 0 | 0 1 ...)."""
    if padding_mode == "edge":
        return index.clamp(0, size - 1)
    if padding_mode == "reflect":
        index = index.abs()
        return torch.where(index >= size, 2 * (size - 1) - index, index)
    index = torch.where(index < 0, -index - 1, index)
    return torch.where(index >= size, 2 * size - 1 - index, index)


def affine(
    *,
    degrees: float,
    translate: Sequence[float] | None,
    scale: Sequence[float] | None,
) -> BatchTransform:
    """Rotate by up to `degrees` either way, shift by up to `translate` (fractions of width and
    height; None: no shift) and scale by a factor in `scale` (None: no scaling), as torchvision's
    `RandomAffine` does; one random transform per image, black outside."""
    shift = (0.0, 0.0) if translate is None else translate
    factors = (1.0, 1.0) if scale is None else scale

    def apply(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        count = batch.shape[0]
        angle = _uniform(count, -degrees, degrees, generator) * (math.pi / 180)
        # grid coordinates span [-1, 1]: a shift by a fraction f of the side is 2f
        shift_x = _uniform(count, -shift[0], shift[0], generator) * 2
        shift_y = _uniform(count, -shift[1], shift[1], generator) * 2
        factor = _uniform(count, factors[0], factors[1], generator)
        cos, sin = torch.cos(angle) / factor, torch.sin(angle) / factor
        # affine_grid maps output to input coordinates: the inverse of scale*rotate, then shift
        theta = torch.stack(
            [
                torch.stack([cos, sin, -(cos * shift_x + sin * shift_y)], dim=1),
                torch.stack([-sin, cos, -(-sin * shift_x + cos * shift_y)], dim=1),
            ],
            dim=1,
        ).to(batch.device, batch.dtype)
        grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
        return F.grid_sample(
            batch, grid, mode="bilinear", padding_mode="zeros", align_corners=False
        )

    return apply


def grayscale(*, p: float) -> BatchTransform:
    """Turn each image grey (kept as three channels) with probability `p`."""

    def apply(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        grey = _chosen(batch.shape[0], p, generator).to(batch.device)
        return torch.where(
            grey[:, None, None, None], TF.rgb_to_grayscale(batch, num_output_channels=3), batch
        )

    return apply


def build_augment(augment: Augment) -> list[BatchTransform]:
    """The preset's augmentation as batch transforms, in a fixed order: crop, flip, affine, grey."""
    steps: list[BatchTransform] = []
    if augment.random_crop is not None:
        crop = augment.random_crop
        steps.append(random_crop(padding=crop.padding, padding_mode=crop.padding_mode))
    if augment.horizontal_flip > 0:
        steps.append(horizontal_flip(p=augment.horizontal_flip))
    if augment.affine is not None:
        a = augment.affine
        steps.append(affine(degrees=a.degrees, translate=a.translate, scale=a.scale))
    if augment.grayscale > 0:
        steps.append(grayscale(p=augment.grayscale))
    return steps


class Preprocess:
    """uint8 batches on the device -> normalized float model inputs (augmented when training)."""

    def __init__(
        self,
        steps: Sequence[BatchTransform],
        *,
        device: torch.device,
        channels_last: bool,
        mix: BatchMix | None = None,
    ) -> None:
        self.steps = list(steps)
        self.mix = mix
        """Mixup/CutMix of the augmented batch (`with_targets` only)."""
        self.channels_last = channels_last
        self.mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)

    def __call__(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return self._model_inputs(self._augmented(images, generator))

    def with_targets(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        generator: torch.Generator | None,
        mixing: torch.Generator | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A training step's inputs and targets: augmented, then mixed when `mix` is set (soft
        targets (B, classes)); else the labels unchanged. Mixing is done on pixels in [0, 1],
        before normalising and the memory layout, so the model gets what it gets unmixed."""
        batch = self._augmented(images, generator)
        if self.mix is not None and mixing is not None:
            batch, labels = self.mix(batch, labels, mixing)
        return self._model_inputs(batch), labels

    def _augmented(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        batch = images.float().div_(255)
        if generator is not None:
            for step in self.steps:
                batch = step(batch, generator)
        return batch

    def _model_inputs(self, batch: torch.Tensor) -> torch.Tensor:
        batch = (batch - self.mean) / self.std
        layout = torch.channels_last if self.channels_last else torch.contiguous_format
        return batch.contiguous(memory_format=layout)

    def to_pixels(self, inputs: torch.Tensor) -> np.ndarray:
        """Model inputs (B, 3, H, W) back to the uint8 (B, H, W, 3) images they show."""
        images = (inputs.float() * self.std + self.mean).clamp(0, 1)
        pixels = (images * 255).round().to(torch.uint8).permute(0, 2, 3, 1)
        return np.ascontiguousarray(pixels.cpu().numpy())
