"""The training loop: `fit` runs epochs, `train_one_epoch` and `evaluate` are its two phases.

The loop never prints and never touches files itself: it reports through `Outputs` (events, the
best checkpoint, the resumable state), which only the process that owns the run directory
implements for real. It reads the host only where it must: one `.item()` per progress event
(a few per second) and one per evaluation.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from hw3tui.engine.augment import Preprocess, step_generator
from hw3tui.engine.batches import Batches
from hw3tui.engine.data import Split
from hw3tui.engine.distributed import SINGLE, World
from hw3tui.engine.hyper import Hyper, Monitor, Schedules, improves, set_hyper
from hw3tui.engine.runtime import Runtime
from hw3tui.engine.seeds import Stream, derived_seed
from hw3tui.preset.models import Preset
from hw3tui.runs.events import Checkpoint, EpochEnd, EpochStart, Event, EventSink, Progress, now

PROGRESS_SECONDS = 0.5
"""At most two progress events a second: each one costs a host sync, and watchers need no more."""
Ending = Literal["done", "failed", "cancelled"]


class NonFiniteLoss(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass
class Partial:
    """The sums of an epoch interrupted part way (so a resume finishes it with the same metrics)."""

    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0
    seconds: float = 0.0


@dataclass
class TrainState:
    """Where the run is; saved with the model for resume (plain JSON)."""

    epoch: int = 0
    """The next epoch to run."""
    step: int = 0
    """The next step of that epoch (above 0 only when a cancel stopped it part way)."""
    best_epoch: int | None = None
    best_value: float | None = None
    best_path: str | None = None
    stall_value: float | None = None
    """Best value by early stopping's rule (improvement above min_delta)."""
    stall_epochs: int = 0
    """Epochs since `stall_value` last improved."""
    partial: Partial | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainState:
        partial = data.get("partial")
        fields = {k: v for k, v in data.items() if k != "partial"}
        return cls(**fields, partial=Partial(**partial) if partial else None)


class Outputs(Protocol):
    """The side effects of a run (only the process owning the run directory performs them)."""

    def emit(self, record: Event) -> None: ...
    def save_best(self, job: Job, epoch: int, value: float) -> str: ...
    def save_state(self, job: Job) -> None: ...


@dataclass
class StopFlag:
    """Set by a signal handler; the loop stops after the current batch."""

    requested: bool = False
    reason: str = ""

    def request(self, reason: str) -> None:
        self.requested, self.reason = True, reason


@dataclass
class Job:
    """Everything one run trains with."""

    preset: Preset
    model: nn.Module
    """What runs forward (the plain model, or a compiled wrapper of it)."""
    module: nn.Module
    """The plain model: its state_dict is what checkpoints hold."""
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    schedules: Schedules
    train: Split
    val: Split
    train_inputs: Preprocess
    val_inputs: Preprocess
    runtime: Runtime
    world: World = SINGLE
    """The ranks training together (`model` is then DDP around `module`)."""
    state: TrainState = field(default_factory=TrainState)
    hyper: Hyper | None = None
    """This epoch's scheduled values, once the epoch started."""
    _train_batches: Batches | None = None
    _val_batches: Batches | None = None

    @property
    def epochs(self) -> int:
        return self.preset.schedule.epochs

    @property
    def monitor(self) -> Monitor:
        return self.preset.checkpoint.monitor

    @property
    def eval_model(self) -> nn.Module:
        """What evaluates: the plain module. Not a DDP wrapper, whose forward talks to the other
        ranks (and they evaluate different numbers of batches); not a compiled one, which would
        compile again for eval mode and for the last, smaller batch."""
        return self.module

    def train_batches(self, batch_size: int) -> Batches:
        if self._train_batches is None or self._train_batches.batch_size != batch_size:
            # A new batch size regroups every index of the epoch, so the sampler and the loader
            # (and its worker processes) are rebuilt; with one batch size they live all run long.
            self._train_batches = Batches(
                self.train,
                batch_size=batch_size,
                seed=self.preset.seed,
                shuffle=True,
                device=self.runtime.device,
                workers=self.runtime.workers,
                shard=self.world.shard,
                previous=self._train_batches,  # one copy of the images on the device
            )
        return self._train_batches

    def val_batches(self) -> Batches:
        if self._val_batches is None:
            # no activations are kept for backward: twice the first training batch fits
            first = self.schedules.at(0).batch_size
            self._val_batches = Batches(
                self.val,
                batch_size=min(512, max(32, 2 * first)),
                seed=self.preset.seed,
                shuffle=False,
                device=self.runtime.device,
                workers=self.runtime.workers,
                shard=self.world.shard,
            )
        return self._val_batches


@dataclass(frozen=True)
class Outcome:
    """How a run ended, and why (a crash also carries its traceback in `detail`)."""

    state: Ending
    reason: str
    detail: str = ""


def fit(job: Job, out: Outputs, stop: StopFlag) -> Outcome:
    """Train from `job.state` to the last epoch (or an early stop, a cancel, a failure)."""
    state, early = job.state, job.preset.schedule.early_stop
    while state.epoch < job.epochs:
        epoch = state.epoch
        job.hyper = hyper = job.schedules.at(epoch)
        set_hyper(job.optimizer, hyper)
        batches = job.train_batches(hyper.batch_size)
        out.emit(_epoch_start(epoch, hyper, len(batches)))
        train = train_one_epoch(job, batches, out.emit, stop)
        if train is None:  # cancelled part way: keep the finished steps for resume
            with job.world.together():  # the others wait for rank 0's save (or its failure)
                out.save_state(job)
            return Outcome("cancelled", f"{stop.reason} during epoch {epoch} (step {state.step})")
        job.world.sync_buffers(job.module)  # every rank evaluates what rank 0 would save
        val_loss, val_acc = evaluate(
            job.eval_model, job.val_batches(), job.val_inputs, job.runtime, world=job.world
        )
        # rank 0 writes; every rank learns whether that (or anything here) failed anywhere
        with job.world.together():
            stalled = _epoch_end(job, out, train, epoch, val_loss, val_acc)
        if early is not None and stalled >= early.patience:
            why = f"no better {job.monitor} for {_epochs_text(stalled)}"
            return Outcome("done", f"early stop: {why}")
        if job.world.agree_to_stop(stop):  # a signal to any rank, during the epoch's end too
            return Outcome("cancelled", f"{stop.reason} after epoch {epoch}")
    return Outcome("done", f"finished {_epochs_text(job.epochs)}")


def _epoch_end(
    job: Job, out: Outputs, train: TrainMetrics, epoch: int, val_loss: float, val_acc: float
) -> int:
    """Record epoch `epoch`, save the best model and the state; the epochs without improvement."""
    state, early, hyper = job.state, job.preset.schedule.early_stop, job.hyper
    out.emit(_epoch_end_event(epoch, hyper or job.schedules.at(epoch), train, val_loss, val_acc))
    state.epoch, state.step, state.partial = epoch + 1, 0, None
    value = val_acc if job.monitor == "val_acc" else val_loss
    if improves(value, state.best_value, monitor=job.monitor):
        path = out.save_best(job, epoch, value)
        state.best_epoch, state.best_value, state.best_path = epoch, value, path
        out.emit(Checkpoint(type="checkpoint", time=now(), epoch=epoch, metric=job.monitor,
                            value=value, path=path))  # fmt: skip
    job.schedules.observe(val_acc)
    stalled = early is not None and _stalled(state, value, job.monitor, early.min_delta)
    out.save_state(job)
    job.world.test_fault(f"{epoch}:end")
    return int(stalled)


def _epoch_start(epoch: int, hyper: Hyper, steps: int) -> EpochStart:
    return EpochStart(type="epoch_start", time=now(), epoch=epoch, lr=hyper.lr,
                      batch_size=hyper.batch_size, weight_decay=hyper.weight_decay,
                      steps=steps)  # fmt: skip


def _epoch_end_event(
    epoch: int, hyper: Hyper, train: TrainMetrics, val_loss: float, val_acc: float
) -> EpochEnd:
    return EpochEnd(type="epoch_end", time=now(), epoch=epoch, train_loss=train.loss,
                    train_acc=train.acc, seconds=train.seconds, images_per_s=train.images_per_s,
                    val_loss=finite(val_loss), val_acc=val_acc, lr=hyper.lr,
                    batch_size=hyper.batch_size, weight_decay=hyper.weight_decay)  # fmt: skip


def _epochs_text(count: int) -> str:
    return f"{count} epoch" if count == 1 else f"{count} epochs"


def _stalled(state: TrainState, value: float, monitor: Monitor, min_delta: float) -> int:
    if improves(value, state.stall_value, monitor=monitor, min_delta=min_delta):
        state.stall_value, state.stall_epochs = value, 0
    else:
        state.stall_epochs += 1
    return state.stall_epochs


def finite(value: float) -> float | None:
    """JSON has no NaN: a non-finite metric is recorded as null."""
    return value if math.isfinite(value) else None


class Throttle:
    """True at most once per `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.last = seconds, time.monotonic()

    def due(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.seconds:
            return False
        self.last = now
        return True


@dataclass(frozen=True)
class TrainMetrics:
    """An epoch's training side: mean loss (None: not finite), accuracy, time and speed."""

    loss: float | None
    acc: float
    seconds: float
    images_per_s: float


def train_one_epoch(
    job: Job, batches: Batches, emit: EventSink, stop: StopFlag
) -> TrainMetrics | None:
    """One epoch (or the rest of it, after a resume); its metrics, or None when stopped early."""
    state, runtime, model, optimizer = job.state, job.runtime, job.model, job.optimizer
    # each rank draws its own augmentation and dropout (rank 0 as a single process would)
    epoch, seed, device = state.epoch, job.world.rank_seed(job.preset.seed), runtime.device
    if state.step == 0:
        # dropout and the like draw from torch's global generator: reseed it per epoch, so an
        # epoch does not depend on how the previous ones ran (a resumed mid-epoch run restores it)
        torch.manual_seed(derived_seed(seed, Stream.TRAIN_STEP, epoch))
    # an interrupted epoch's saved sums are every rank's together: rank 0 carries them on
    done = (state.partial if job.world.is_main else None) or Partial()
    loss_sum = torch.tensor(done.loss_sum, dtype=torch.float32, device=device)
    correct = torch.tensor(done.correct, dtype=torch.int64, device=device)
    seen, seconds = done.seen, done.seconds
    first_bad = torch.tensor(-1, dtype=torch.int64, device=device)
    augment = bool(job.train_inputs.steps)
    throttle, steps, started = Throttle(PROGRESS_SECONDS), len(batches), time.perf_counter()
    window = (started, seen)
    model.train()
    step = state.step
    data = iter(batches.epoch(epoch, state.step))
    while True:
        error: Exception | None = None
        try:  # a failure on this rank is agreed on (`stopping`) before the next collective
            batch = next(data, None)
            if batch is None:
                break
            images, labels = batch
            generator = step_generator(seed, epoch, step, device) if augment else None
            inputs = job.train_inputs(images, generator)
            with runtime.autocast():
                logits = model(inputs)
                loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            share = batches.share(step)  # 1.0 unless the batch splits unevenly among ranks
            weighted = loss * share if share != 1.0 else loss
            # fp16: the loss is scaled so small gradients survive; bf16 and fp32 pass through
            job.scaler.scale(weighted).backward()  # type: ignore[no-untyped-call]
            job.scaler.step(optimizer)
            job.scaler.update()
            loss = loss.detach().float()
            # sums stay on the device: no host sync per step
            loss_sum += loss * labels.shape[0]
            correct += (logits.detach().argmax(1) == labels).sum()
            first_bad = torch.where((first_bad < 0) & ~torch.isfinite(loss), step, first_bad)
            seen += labels.shape[0]
            state.step = step + 1
            if throttle.due() and state.step < steps:
                # sync point: reading the running loss waits for the device (a few times a second)
                mean_loss = (loss_sum / seen).item()
                _check_finite(first_bad, epoch)
                clock = time.perf_counter()
                # this rank's rate times the ranks (they take equal shares of each batch)
                rate = (seen - window[1]) * job.world.size / max(clock - window[0], 1e-9)
                window = (clock, seen)
                acc = correct.item() / seen
                emit(
                    Progress(
                        type="progress",
                        time=now(),
                        epoch=epoch,
                        step=state.step,
                        steps=steps,
                        loss=finite(mean_loss),
                        acc=acc,
                        images_per_s=round(rate, 1),
                    )
                )
        except Exception as exc:
            error = exc
        # every rank after the same step
        if job.world.stopping(stop, epoch=epoch, step=step, error=error):
            elapsed = seconds + time.perf_counter() - started
            with job.world.together():
                _check_finite(first_bad, epoch)
            loss_sum, correct, seen = job.world.summed(loss_sum, correct, seen)
            state.partial = Partial(loss_sum.item(), int(correct.item()), seen, elapsed)
            return None
        step += 1
    with job.world.together():
        _check_finite(first_bad, epoch)
    seconds += time.perf_counter() - started
    loss_sum, correct, seen = job.world.summed(loss_sum, correct, seen)
    train_loss = (loss_sum / max(seen, 1)).item()
    return TrainMetrics(
        loss=finite(train_loss),
        acc=int(correct.item()) / max(seen, 1),
        seconds=round(seconds, 3),
        images_per_s=round(seen / max(seconds, 1e-9), 1),
    )


def _check_finite(first_bad: torch.Tensor, epoch: int) -> None:
    step = int(first_bad.item())
    if step >= 0:
        raise NonFiniteLoss(
            f"the training loss became NaN or infinite at epoch {epoch}, step {step} "
            "(try a lower schedule.lr)"
        )


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    batches: Batches,
    inputs: Preprocess,
    runtime: Runtime,
    *,
    world: World = SINGLE,
) -> tuple[float, float]:
    """Mean loss and accuracy over a whole split, without augmentation (with several ranks, each
    evaluates its share and the sums are added up: every image counted once)."""
    model.eval()
    device = runtime.device
    loss_sum = torch.zeros((), dtype=torch.float32, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    count = 0
    with world.together():  # a rank that fails here is known to all before the sums below
        for images, labels in batches.epoch(0):
            with runtime.autocast():
                logits = model(inputs(images, None))
            loss_sum += F.cross_entropy(logits.float(), labels, reduction="sum")
            correct += (logits.argmax(1) == labels).sum()
            count += labels.shape[0]
    loss_sum, correct, count = world.summed(loss_sum, correct, count)
    # one sync per evaluation
    return loss_sum.item() / max(count, 1), correct.item() / max(count, 1)
