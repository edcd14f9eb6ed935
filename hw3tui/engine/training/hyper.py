"""The per-epoch hyperparameters (lr, batch size, weight decay) from the preset's schedules, put on
the optimizer each epoch; and the one comparator of a monitored value with the best so far."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import torch

from hw3tui.preset.models import Preset
from hw3tui.preset.schedule import Scheduler


@dataclass(frozen=True)
class Hyper:
    """The scheduled values of one epoch."""

    lr: float
    batch_size: int
    weight_decay: float


class Schedules:
    """lr, batch size and weight decay: one `Scheduler` each, moved on together."""

    def __init__(self, preset: Preset) -> None:
        schedule = preset.schedule
        self.lr = Scheduler(schedule.lr, schedule.epochs)
        self.batch_size = Scheduler(schedule.batch_size, schedule.epochs, integer=True)
        self.weight_decay = Scheduler(schedule.weight_decay, schedule.epochs)

    def at(self, epoch: int) -> Hyper:
        return Hyper(
            lr=self.lr.at(epoch),
            batch_size=int(self.batch_size.at(epoch)),
            weight_decay=self.weight_decay.at(epoch),
        )

    def observe(self, val_acc: float) -> None:
        """Feed an epoch's val accuracy to plateau schedules."""
        for scheduler in (self.lr, self.batch_size, self.weight_decay):
            scheduler.observe(val_acc)

    def state_dict(self) -> dict[str, Any]:
        return {
            "lr": self.lr.state_dict(),
            "batch_size": self.batch_size.state_dict(),
            "weight_decay": self.weight_decay.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lr.load_state_dict(state["lr"])
        self.batch_size.load_state_dict(state["batch_size"])
        self.weight_decay.load_state_dict(state["weight_decay"])


def improves(value: float, best: float | None, *, monitor: Monitor, min_delta: float = 0.0) -> bool:
    """The one comparator: whether `value` beats `best` by more than `min_delta`."""
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    return value > best + min_delta if monitor == "val_acc" else value < best - min_delta


def set_hyper(optimizer: torch.optim.Optimizer, hyper: Hyper) -> None:
    """Put this epoch's lr and weight decay into every parameter group."""
    for group in optimizer.param_groups:
        group["lr"] = hyper.lr
        group["weight_decay"] = hyper.weight_decay


Monitor = Literal["val_acc", "val_loss"]
