"""A run's history, folded from its events: what the run screen, compare and `hw3tui runs` show.

`RunHistory.apply` takes events in the order they were written (events.jsonl, or live from the
engine) and keeps only what a reader needs: per-epoch metrics, the epoch in progress, the current
epoch's batch losses, the best checkpoint and how the run ended. A resumed run appends a second
`run_start` to the same file; its repeated epochs replace the earlier ones. No clock is read here:
every figure (ETA included) comes from the events, so the same events always give the same view.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hw3tui.preset.schedule import CosineForm, LinearForm, PlateauForm, preview
from hw3tui.runs.events import Event
from hw3tui.runs.numbers import as_float, as_int

BATCH_LOSSES_KEPT = 400
"""Batch losses of the current epoch kept for the live line (older ones scroll off)."""

METRICS = ("train_loss", "train_acc", "val_loss", "val_acc")


@dataclass(frozen=True)
class EpochResult:
    """One `epoch_end` record."""

    epoch: int
    train_loss: float | None
    train_acc: float | None
    val_loss: float | None
    val_acc: float | None
    lr: float | None
    batch_size: float | None
    weight_decay: float | None
    seconds: float | None
    images_per_s: float | None
    val_loss_raw: float | None = None
    """With `ema` only: the raw weights' val loss (`val_loss` is then the average's)."""
    val_acc_raw: float | None = None

    @classmethod
    def from_event(cls, record: Event) -> EpochResult:
        return cls(
            epoch=int(record["epoch"]),
            **{name: as_float(record.get(name)) for name in _EPOCH_FIELDS},
        )

    def metric(self, name: str) -> float | None:
        value = getattr(self, name, None)
        return value if isinstance(value, float) else None


_EPOCH_FIELDS = (
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "lr",
    "batch_size",
    "weight_decay",
    "seconds",
    "images_per_s",
    "val_loss_raw",
    "val_acc_raw",
)


@dataclass
class RunHistory:
    """Everything a viewer shows about a run, kept up to date one event at a time."""

    preset: str | None = None
    device: str | None = None
    classes: list[str] = field(default_factory=list)
    epochs_planned: int | None = None
    """`run_start`'s `epochs` when the engine gives it (else the preset's schedule.epochs)."""
    results: dict[int, EpochResult] = field(default_factory=dict)
    current: Event | None = None
    """The last `epoch_start`: the epoch being trained and its lr, batch size, weight decay."""
    starts: dict[int, Event] = field(default_factory=dict)
    """Every epoch's `epoch_start` by epoch (a resumed epoch keeps its latest): the schedules as
    they were used."""
    progress: Event | None = None
    """The last `progress` of the current epoch."""
    batch_losses: deque[float] = field(default_factory=lambda: deque(maxlen=BATCH_LOSSES_KEPT))
    best: dict[str, Any] | None = None
    """The best checkpoint so far: epoch, metric, value, path."""
    end: Event | None = None
    """`run_end`, once the run has ended."""
    events_seen: int = 0

    def apply(self, record: Event) -> None:
        """Fold one event into the history (unknown or malformed events are skipped)."""
        handler = getattr(self, "_on_" + str(record.get("type")), None)
        if handler is None:
            return
        try:
            handler(record)
        except (KeyError, TypeError, ValueError, OverflowError):
            return  # a reader must survive a hand-edited or truncated file
        self.events_seen += 1

    def extend(self, records: Iterable[Event]) -> RunHistory:
        for record in records:
            self.apply(record)
        return self

    def _on_run_start(self, record: Event) -> None:
        self.preset = str(record.get("preset") or self.preset or "") or None
        self.device = str(record["device"]) if record.get("device") else self.device
        classes = record.get("classes")
        if isinstance(classes, list):
            self.classes = [str(c) for c in classes]
        epochs = as_int(record.get("epochs"))
        if epochs is not None:
            self.epochs_planned = epochs
        self.end = None  # a resumed run is running again

    def _on_epoch_start(self, record: Event) -> None:
        epoch = int(record["epoch"])  # ValueError / KeyError: not an epoch_start we can use
        self.current = record
        self.starts[epoch] = record
        self.progress = None
        self.batch_losses.clear()

    def _on_progress(self, record: Event) -> None:
        loss = as_float(record.get("loss"))
        self.progress = record
        if loss is not None:
            self.batch_losses.append(loss)

    def _on_epoch_end(self, record: Event) -> None:
        result = EpochResult.from_event(record)
        self.results[result.epoch] = result
        # a resumed run may rewrite later epochs: forget any that no longer follow this one
        for later in [e for e in self.results if e > result.epoch]:
            del self.results[later]

    def _on_checkpoint(self, record: Event) -> None:
        self.best = {k: record.get(k) for k in ("epoch", "metric", "value", "path")}

    def _on_run_end(self, record: Event) -> None:
        self.end = record
        best = record.get("best")
        if isinstance(best, dict) and best:
            self.best = {**(self.best or {}), **best}

    # ---- what viewers ask ------------------------------------------------------------------

    @property
    def epochs(self) -> list[EpochResult]:
        """Finished epochs in order."""
        return [self.results[e] for e in sorted(self.results)]

    @property
    def state(self) -> str:
        """running | done | failed | cancelled, as far as the events tell."""
        if self.end is not None:
            return str(self.end.get("state", "done"))
        return "running" if self.events_seen else "starting"

    @property
    def current_epoch(self) -> int | None:
        if self.current is None:
            return None
        return int(self.current["epoch"])

    @property
    def epochs_done(self) -> int:
        return len(self.results)

    def series(self, metric: str) -> tuple[list[int], list[float]]:
        """Epochs and values of one per-epoch metric (`val_acc`, `train_loss`, ...)."""
        xs: list[int] = []
        ys: list[float] = []
        for result in self.epochs:
            value = result.metric(metric)
            if value is not None:
                xs.append(result.epoch)
                ys.append(value)
        return xs, ys

    def schedule_used(self, name: str) -> tuple[list[int], list[float]]:
        """Epochs and values of `lr`, `batch_size` or `weight_decay` as each epoch_start gave
        them: what the run trained with, not what its preset would compute."""
        xs: list[int] = []
        ys: list[float] = []
        for epoch in sorted(self.starts):
            value = as_float(self.starts[epoch].get(name))
            if value is not None:
                xs.append(epoch)
                ys.append(value)
        return xs, ys

    def best_of(self, metric: str = "val_acc") -> tuple[float, int] | None:
        """The best value of `metric` over finished epochs and its epoch (highest acc, lowest
        loss); the earliest epoch wins a tie, as the engine keeps the first best."""
        xs, ys = self.series(metric)
        if not ys:
            return None
        pick = max if metric.endswith("acc") else min
        value = pick(ys)
        return value, xs[ys.index(value)]

    def epoch_fraction(self) -> float | None:
        """How far through the current epoch's training steps (0..1)."""
        if self.progress is None:
            return None
        step, steps = as_float(self.progress.get("step")), as_float(self.progress.get("steps"))
        if step is None or not steps:
            return None
        return max(0.0, min(1.0, step / steps))

    def epoch_seconds(self) -> float | None:
        """Typical seconds an epoch takes: the mean of finished epochs, else the pace so far."""
        done = [r.seconds for r in self.epochs if r.seconds]
        if done:
            return sum(done) / len(done)
        fraction = self.epoch_fraction()
        if self.current is None or self.progress is None or not fraction:
            return None
        started, now = as_float(self.current.get("time")), as_float(self.progress.get("time"))
        if started is None or now is None or now <= started:
            return None
        return (now - started) / fraction

    def eta_seconds(self) -> float | None:
        """Seconds left until the planned last epoch ends, from the events alone."""
        if self.end is not None:
            return 0.0
        per_epoch = self.epoch_seconds()
        if per_epoch is None or self.epochs_planned is None:
            return None
        epoch = self.current_epoch
        if epoch is None:
            return None
        in_epoch = self.epoch_fraction() or 0.0
        if epoch in self.results:  # between epoch_end and the next epoch_start
            left_here, later = 0.0, self.epochs_planned - epoch - 1
        else:
            left_here, later = (1.0 - in_epoch) * per_epoch, self.epochs_planned - epoch - 1
        return max(0.0, left_here + max(0, later) * per_epoch)

    @property
    def images_per_s(self) -> float | None:
        """The latest training speed: live from progress, else the last epoch's."""
        if self.progress is not None and self.end is None:
            speed = as_float(self.progress.get("images_per_s"))
            if speed:
                return speed
        epochs = self.epochs
        return epochs[-1].images_per_s if epochs else None


def history_of(records: Iterable[Event]) -> RunHistory:
    """The history of a finished list of events."""
    return RunHistory().extend(records)


def schedule_ahead(spec: Any, epochs: int, epoch: int, *, integer: bool = False) -> str:
    """Where a validated schedule goes after `epoch`: `→ 0.0005 at 15 …` (its next change, and
    `…` when more follow), `→ 0.0001 at 49` for a ramp (where it ends), or `constant`."""
    if isinstance(spec, PlateauForm):
        plateau = spec.plateau
        return f"×{plateau.factor:g} after {plateau.patience} epochs without a better val acc"
    if epoch >= epochs - 1:
        return "last epoch"
    values = preview(spec, epochs, integer=integer)
    changes = [(e, values[e]) for e in range(epoch + 1, epochs) if values[e] != values[e - 1]]
    if not changes:
        return "constant"
    if isinstance(spec, LinearForm | CosineForm):
        return f"→ {values[-1]:.3g} at {epochs - 1}"
    at, value = changes[0]
    return f"→ {value:g} at {at}" + (" …" if len(changes) > 1 else "")
