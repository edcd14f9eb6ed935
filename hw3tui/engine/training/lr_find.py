"""The lr range test (`hw3tui lr-find`): train a throwaway copy for a few steps while the lr grows
exponentially, and suggest the lr where the loss falls fastest.

    curve = lr_range_test(job)          # job from engine.training.job (prepare + make_job)
    curve.suggestion                    # an lr, or None when the loss never fell

Nothing of the job is touched: a deep copy of the model trains with its own optimizer, on the
run's own training batches and augmentation (its private batch iterator: the data order is a pure
function of seed and epoch), and torch's, NumPy's and Python's random streams are put back after
(as `runtime: auto`'s probe does). The loss is smoothed (an exponential moving average with bias
correction), the test stops once the smoothed loss exceeds `DIVERGE` times its minimum, and the
suggestion is the steepest descent of the smoothed loss against log lr, with the first and last
`SKIP` of the points left out: an early spike (the first steps of a fresh head) or the climb into
divergence fooled the naive suggestion (Lightning #1767, #14248).
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from hw3tui.engine.data.augment import step_generator
from hw3tui.engine.data.batches import Batches
from hw3tui.engine.hardware.probe import streams_untouched
from hw3tui.engine.training.job import make_optimizer
from hw3tui.engine.training.loop import Job
from hw3tui.results.lr_ramp import END, START, STEPS

BETA = 0.98
"""The moving average's weight of the past (about the last 50 steps)."""
DIVERGE = 4.0
"""The test stops once the smoothed loss is above this many times its minimum."""
SKIP = 0.1
"""The share of points left out at each end when looking for the steepest descent."""

Said = Callable[[int, float, float], None]
"""Told (step, lr, smoothed loss) after each step: progress."""


@dataclass(frozen=True)
class LrCurve:
    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestion: float | None
    diverged: bool


def ramp(start: float, end: float, steps: int) -> list[float]:
    """`steps` lrs from `start` to `end`, evenly spaced in log."""
    if steps == 1:
        return [start]
    ratio = math.log(end / start)
    return [start * math.exp(ratio * i / (steps - 1)) for i in range(steps)]


def smooth(losses: Sequence[float], beta: float = BETA) -> list[float]:
    """The exponential moving average, bias-corrected (its first values are not pulled to 0)."""
    average, out = 0.0, []
    for i, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        out.append(average / (1 - beta ** (i + 1)))
    return out


def suggest(lrs: Sequence[float], smoothed: Sequence[float], skip: float = SKIP) -> float | None:
    """The lr where the smoothed loss falls fastest against log lr, the first and last `skip` of
    the points left out; None when it never falls there (or too few points)."""
    cut = int(len(lrs) * skip)
    window = slice(cut, len(lrs) - cut)
    x, y = np.log10(np.asarray(lrs[window])), np.asarray(smoothed[window])
    if len(x) < 3 or not np.isfinite(y).all():
        return None
    slope = np.gradient(y, x)
    best = int(np.argmin(slope))
    return float(10 ** x[best]) if slope[best] < 0 else None


def lr_range_test(
    job: Job,
    *,
    start: float = START,
    end: float = END,
    steps: int = STEPS,
    said: Said = lambda *_: None,
) -> LrCurve:
    """Train a copy of `job`'s model with its optimizer's kind over an exponential lr ramp, at the
    run's first batch size and weight decay; the curve, stopped at divergence."""
    first = job.schedules.at(0)
    device, preset = job.runtime.device, job.preset
    lrs, losses, smoothed = ramp(start, end, steps), [], []
    with streams_untouched(device):
        torch.manual_seed(0)  # dropout and the like: the same draws every time
        model = copy.deepcopy(job.module)
        optimizer = make_optimizer(preset.optimizer, model, lr=start, wd=first.weight_decay)
        scaler = torch.amp.GradScaler(device.type, enabled=job.runtime.precision == "fp16")
        batches = Batches(
            job.train,
            batch_size=first.batch_size,
            seed=preset.seed,
            shuffle=True,
            device=device,
            workers=job.runtime.workers,
        )
        model.train()
        data = (
            (epoch, step, batch)
            for epoch in itertools.count()
            for step, batch in enumerate(batches.epoch(epoch))
        )
        augment = bool(job.train_inputs.steps)
        for i, (lr, (epoch, step, (images, labels))) in enumerate(zip(lrs, data, strict=False)):
            for group in optimizer.param_groups:
                group["lr"] = lr
            generator = step_generator(preset.seed, epoch, step, device) if augment else None
            with job.runtime.autocast():
                loss = F.cross_entropy(model(job.train_inputs(images, generator)), labels)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
            scaler.step(optimizer)  # fp16: skipped when a gradient overflowed
            scaler.update()
            losses.append(loss.item())  # a sync per step: the test stops on what it reads
            smoothed = smooth(losses)
            said(i, lr, smoothed[-1])
            if not math.isfinite(smoothed[-1]) or smoothed[-1] > DIVERGE * min(smoothed):
                break
    tried = lrs[: len(losses)]
    diverged = len(losses) < len(lrs)
    # the diverging point itself is no part of the descent
    kept = len(losses) - 1 if diverged else len(losses)
    return LrCurve(tried, losses, smoothed, suggest(tried[:kept], smoothed[:kept]), diverged)
