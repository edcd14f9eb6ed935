"""Every random stream of a run, derived from (seed, purpose, epoch, step).

Nothing random in a run depends on what ran before it: the data order of epoch 7 or the
augmentation of its step 12 is a pure function of the preset's seed and those numbers. A resumed
run therefore replays exactly what the uninterrupted run would have done.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import torch


class Stream(IntEnum):
    """What a random stream is for; part of its seed, so streams never overlap."""

    INIT = 0
    SHUFFLE = 1
    AUGMENT = 2
    TRAIN_STEP = 3
    SPLIT = 4
    MIX = 5
    SHAPES_TRAIN = 10
    SHAPES_VAL = 11


def seed_sequence(seed: int, stream: Stream, *numbers: int) -> np.random.SeedSequence:
    """A NumPy seed sequence for (seed, stream, *numbers)."""
    return np.random.SeedSequence([seed, int(stream), *numbers])


def derived_seed(seed: int, stream: Stream, *numbers: int) -> int:
    """A 63-bit integer seed for (seed, stream, *numbers)."""
    state = seed_sequence(seed, stream, *numbers).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def torch_generator(seed: int, stream: Stream, *numbers: int) -> torch.Generator:
    """A CPU torch generator for (seed, stream, *numbers)."""
    generator = torch.Generator()
    generator.manual_seed(derived_seed(seed, stream, *numbers))
    return generator
