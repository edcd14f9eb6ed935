"""An epoch's bookkeeping beside the training step: its sums (`EpochMeter`) and its progress
events (`ProgressThrottle`).

The sums stay on the device, so adding a step's loss never waits for it; the host reads them only
where a number must leave the process: a progress event (a few a second), the end of the epoch,
and a cancel part way (whose sums are saved so a resume finishes the epoch with the same metrics).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from hw3tui.runs.events import EventSink, Progress, now

if TYPE_CHECKING:
    from hw3tui.engine.distributed.world import World


class NonFiniteLoss(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass
class Partial:
    """The sums of an epoch interrupted part way (so a resume finishes it with the same metrics).
    Saved in state/ as plain JSON: every rank's sums together."""

    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class TrainMetrics:
    """An epoch's training side: mean loss (None: not finite), accuracy, time and speed."""

    loss: float | None
    acc: float
    seconds: float
    images_per_s: float


def finite(value: float) -> float | None:
    """JSON has no NaN: a non-finite metric is recorded as null."""
    return value if math.isfinite(value) else None


class EpochMeter:
    """One rank's running sums of an epoch: loss, correct predictions, images, the first step
    whose loss was not finite. `add` never waits for the device; `partial` and `reduced` read
    the sums of every rank together (an agreement, an all-reduce and a host sync each)."""

    def __init__(self, epoch: int, carried: Partial, device: torch.device) -> None:
        """`carried`: the sums of the epoch's steps before a resume (zero on all but rank 0, so
        the ranks' sums add up to them once)."""
        self.epoch = epoch
        self.loss_sum = torch.tensor(carried.loss_sum, dtype=torch.float32, device=device)
        self.correct = torch.tensor(carried.correct, dtype=torch.int64, device=device)
        self.seen = carried.seen
        self.first_bad = torch.tensor(-1, dtype=torch.int64, device=device)
        """The first step whose loss was NaN or infinite (-1: none yet), found on the device."""
        self._seconds_before = carried.seconds
        self._started = time.perf_counter()

    def add(
        self, step: int, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor
    ) -> None:
        """Count one step's batch (device-side arithmetic only: no host sync)."""
        loss = loss.detach().float()
        self.loss_sum += loss * labels.shape[0]
        self.correct += (logits.detach().argmax(1) == labels).sum()
        self.first_bad = torch.where(
            (self.first_bad < 0) & ~torch.isfinite(loss), step, self.first_bad
        )
        self.seen += labels.shape[0]

    def mean_loss(self) -> float:
        """This rank's mean loss so far. Sync point: waits for the device."""
        return (self.loss_sum / self.seen).item()

    def accuracy(self) -> float:
        """This rank's accuracy so far. Sync point."""
        return self.correct.item() / self.seen

    def check_finite(self) -> None:
        """`NonFiniteLoss` naming the first bad step, if there was one (sync point)."""
        step = int(self.first_bad.item())
        if step >= 0:
            raise NonFiniteLoss(
                f"the training loss became NaN or infinite at epoch {self.epoch}, step {step} "
                "(try a lower schedule.lr)"
            )

    def partial(self, world: World) -> Partial:
        """The sums so far of every rank together, as state/ keeps them for a resume."""
        loss_sum, correct, seen, seconds = self._summed(world)
        return Partial(loss_sum.item(), int(correct.item()), seen, seconds)

    def reduced(self, world: World) -> TrainMetrics:
        """The finished epoch's metrics over every rank's images."""
        loss_sum, correct, seen, seconds = self._summed(world)
        return TrainMetrics(
            loss=finite((loss_sum / max(seen, 1)).item()),
            acc=int(correct.item()) / max(seen, 1),
            seconds=round(seconds, 3),
            images_per_s=round(seen / max(seconds, 1e-9), 1),
        )

    def _summed(self, world: World) -> tuple[torch.Tensor, torch.Tensor, int, float]:
        """Every rank's sums, once every rank knows that none saw a NaN loss (a rank that did
        raises `NonFiniteLoss`, the others `PeerFailed`), and the epoch's seconds so far."""
        seconds = self._seconds_before + time.perf_counter() - self._started
        with world.between_collectives():
            self.check_finite()
        loss_sum, correct, seen = world.summed(self.loss_sum, self.correct, self.seen)
        return loss_sum, correct, seen, seconds


class ProgressThrottle:
    """The epoch's progress events: at most one per `seconds` (each one reads the running sums,
    a host sync), and none after the last step (the epoch's end reports it)."""

    def __init__(
        self, emit: EventSink, meter: EpochMeter, *, steps: int, ranks: int, seconds: float
    ) -> None:
        self.emit, self.meter, self.steps, self.ranks = emit, meter, steps, ranks
        self.seconds, self.last = seconds, time.monotonic()
        self.window = (time.perf_counter(), meter.seen)
        """(time, images seen) at the last event: the rate is measured since then."""

    def after(self, steps_done: int) -> None:
        """Called after each step: emits a progress event when one is due."""
        if not self._due() or steps_done >= self.steps:
            return
        meter = self.meter
        mean_loss = meter.mean_loss()  # sync point: waits for the device, a few times a second
        meter.check_finite()
        clock = time.perf_counter()
        # this rank's rate times the ranks (they take equal shares of each batch)
        rate = (meter.seen - self.window[1]) * self.ranks / max(clock - self.window[0], 1e-9)
        self.window = (clock, meter.seen)
        self.emit(
            Progress(
                type="progress",
                time=now(),
                epoch=meter.epoch,
                step=steps_done,
                steps=self.steps,
                loss=finite(mean_loss),
                acc=meter.accuracy(),
                images_per_s=round(rate, 1),
            )
        )

    def _due(self) -> bool:
        clock = time.monotonic()
        if clock - self.last < self.seconds:
            return False
        self.last = clock
        return True
