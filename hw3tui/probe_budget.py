"""How much training the runtime probe may spend on measuring `auto` precision and layout.

One rule for a run (`hw3tui.engine.hardware.probe`, which measures in the run itself) and for a
sweep (`hw3tui.sweeps.probe`, which measures once for all the trials of a workload, before the
first): measuring is worth it only when `FRACTION` of the training steps it serves covers the
steps the measurement takes. Torch-free, so the sweeps layer (which may not import the engine)
reads the same numbers.
"""

from __future__ import annotations

FRACTION = 0.05
"""The most of the training steps a measurement serves that it may take."""
MAX_BATCH_SIZES = 3
"""A batch-size schedule's sizes measured: those the run trains the most images at."""
MAX_CANDIDATES = 4
"""The most settings `auto` times: fp32/bf16 x NCHW/channels_last. How many of them a machine
offers depends on its CPU (bf16 only with AVX512-BF16 or AMX: the engine asks), so whoever cannot
ask, a sweep, counts this many."""


def steps_to_measure(candidates: int, batch_sizes: int) -> int:
    """Training steps a measurement of `candidates` settings at `batch_sizes` sizes takes at
    least: one warm-up and one timed step each (at most `MAX_BATCH_SIZES` sizes are measured)."""
    return candidates * min(batch_sizes, MAX_BATCH_SIZES) * 2


def affords(training_steps: int, candidates: int, batch_sizes: int) -> bool:
    """Whether `FRACTION` of `training_steps` covers measuring `candidates` x `batch_sizes`."""
    return steps_to_measure(candidates, batch_sizes) <= FRACTION * training_steps
