"""Mixup and CutMix on a training batch, with soft targets: torchvision's `MixUp` / `CutMix`,
made a pure function of (seed, epoch, step).

torchvision draws its weight (and CutMix's box) from torch's global CPU generator, one draw per
batch, and pairs each image with its neighbour (`batch.roll(1, 0)`): an odd batch and a batch of
one image work (the single image is mixed with itself, its target stays one-hot), unlike timm's
pairwise mode (timm #1304). To make those draws replayable, each batch first draws from its own
CPU generator (`mix_generator`), then runs torchvision inside `torch.random.fork_rng` with the
global generator seeded from that draw: a resumed run mixes exactly as the uninterrupted one,
and the global stream (which dropout uses) is left as it was. Every draw is on the CPU, so a
GPU batch costs no host sync.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchvision.transforms import v2

from hw3tui.engine.seeds import Stream, torch_generator
from hw3tui.preset.models import Augment, Mix


def mix_generator(seed: int, epoch: int, step: int) -> torch.Generator:
    """The CPU generator of one training step's mixing, a pure function of (seed, epoch, step)."""
    return torch_generator(seed, Stream.MIX, epoch, step)


@dataclass(frozen=True)
class BatchMix:
    """Mixup and/or CutMix of whole batches. A batch is mixed with probability `max(p)`; when
    both are on, it then takes CutMix with probability `cutmix.p / (mixup.p + cutmix.p)` (as
    timm's `switch_prob`, here set by the two `p`: equal `p` means half and half)."""

    classes: int
    mixup: Mix | None = None
    cutmix: Mix | None = None

    def __call__(
        self, batch: torch.Tensor, labels: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (B, C, H, W) and class indices (B,) -> the images and their targets: when
        mixed, soft targets (B, classes), each row summing to 1; else the labels unchanged."""
        chosen = self._choose(generator)
        if chosen is None:  # unmixed: the hard labels, as without mixing
            return batch, labels
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        transform = v2.CutMix if chosen is self.cutmix else v2.MixUp
        with torch.random.fork_rng(devices=[]):  # torchvision draws from the global CPU stream
            torch.manual_seed(seed)
            mixed, targets = transform(alpha=chosen.alpha, num_classes=self.classes)(batch, labels)
        return mixed, targets

    def _choose(self, generator: torch.Generator) -> Mix | None:
        """Which mix this batch takes (None: unmixed); always two draws, so the stream's use
        does not depend on the outcome."""
        on = [mix for mix in (self.mixup, self.cutmix) if mix is not None]
        applied, which = torch.rand(2, generator=generator).tolist()
        total = sum(mix.p for mix in on)
        if not on or applied >= max(mix.p for mix in on) or total == 0:
            return None
        if len(on) == 1:
            return on[0]
        assert self.mixup is not None and self.cutmix is not None
        return self.cutmix if which < self.cutmix.p / total else self.mixup


def build_mix(augment: Augment, *, classes: int) -> BatchMix | None:
    """The preset's batch mixing, or None when neither `mixup` nor `cutmix` is on."""
    if augment.mixup is None and augment.cutmix is None:
        return None
    return BatchMix(classes=classes, mixup=augment.mixup, cutmix=augment.cutmix)


def dominant(targets: torch.Tensor) -> torch.Tensor:
    """The label a (soft) target counts as for accuracy: the class with the largest weight (a
    tie, as when an image is mixed half and half, goes to the lower class index)."""
    return targets.argmax(1) if targets.ndim == 2 else targets
