"""The training loop: `fit` runs epochs, `train_one_epoch` and `evaluate` are its two phases.

An epoch reads top to bottom: `train_one_epoch` loops over `train_step` (forward, loss, backward,
update), with the bookkeeping beside it in `engine.meter` (the epoch's sums, progress events).
The loop never prints and never touches files itself: it reports through `Outputs` (events, the
best checkpoint, the resumable state), which only the process that owns the run directory
implements for real. It reads the host only where it must: one `.item()` per progress event
(a few per second), one at an epoch's end and one per evaluation.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel

from hw3tui.engine.data.augment import Preprocess, step_generator
from hw3tui.engine.data.batches import Batch, Batches
from hw3tui.engine.data.datasets import Split
from hw3tui.engine.data.mix import dominant, mix_generator
from hw3tui.engine.distributed.world import SINGLE, World
from hw3tui.engine.hardware.runtime import Runtime
from hw3tui.engine.seeds import Stream, derived_seed
from hw3tui.engine.training.ema import averaged_state, update_ema
from hw3tui.engine.training.hyper import Hyper, Monitor, Schedules, improves, set_hyper
from hw3tui.engine.training.meter import EpochMeter, Partial, ProgressThrottle, TrainMetrics, finite
from hw3tui.preset.models import Preset
from hw3tui.runs.events import Checkpoint, EpochEnd, EpochStart, Event, EventSink, now

PROGRESS_SECONDS = 0.5
"""At most two progress events a second: each one costs a host sync, and watchers need no more."""
Ending = Literal["done", "failed", "cancelled"]


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
    """Everything one run trains with. One set of weights goes by three names: `module` is the
    network itself, `model` what trains it (maybe wrapped), `eval_model` what evaluates it."""

    preset: Preset
    model: nn.Module
    """What runs forward: `module` itself until `engine.job.connect` (so in a one-pass eval or
    predict), then for training a wrapper around it that shares its parameters: DDP when several
    ranks train (its forward and backward talk to the other ranks), `torch.compile` when the
    preset asks. Never saved."""
    module: nn.Module
    """The plain network, unwrapped: its state_dict (no `module.` or `_orig_mod.` prefix) is
    what checkpoints and state/ save and load, and rank 0's buffers are broadcast from it."""
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    schedules: Schedules
    train: Split
    val: Split
    train_inputs: Preprocess
    val_inputs: Preprocess
    runtime: Runtime
    world: World = SINGLE
    """The ranks training together (`SINGLE`: one process)."""
    state: TrainState = field(default_factory=TrainState)
    hyper: Hyper | None = None
    """This epoch's scheduled values, once the epoch started."""
    ema: AveragedModel | None = None
    """The average of the weights when the preset asks (`ema`): evaluated beside `module`, and
    what best/ keeps."""
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
        """What evaluates: `module`, never `model`'s wrappers. Not DDP, whose forward talks to
        the other ranks (and they evaluate different numbers of batches); not a compiled one,
        which would compile again for eval mode and for the last, smaller batch."""
        return self.module

    def kept_weights(self) -> dict[str, torch.Tensor]:
        """What the best checkpoint keeps: the average's weights when there is one, else the
        module's; the plain network's keys either way."""
        return averaged_state(self.ema) if self.ema is not None else self.module.state_dict()

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
            with job.world.between_collectives():  # the others wait for rank 0's save
                out.save_state(job)
            return Outcome("cancelled", f"{stop.reason} during epoch {epoch} (step {state.step})")
        job.world.sync_buffers(job.module)  # every rank evaluates what rank 0 would save
        val_loss, val_acc = evaluate(
            job.eval_model, job.val_batches(), job.val_inputs, job.runtime, world=job.world
        )
        raw = _evaluate_ema(job)
        if raw is not None:  # the average's scores are the run's; the raw weights' beside them
            (val_loss, val_acc), raw = raw, (val_loss, val_acc)
        # rank 0 writes; every rank learns whether that (or anything here) failed anywhere
        with job.world.between_collectives():
            stalled = _epoch_end(job, out, train, epoch, val_loss, val_acc, raw)
        if early is not None and stalled >= early.patience:
            why = f"no better {job.monitor} for {_epochs_text(stalled)}"
            return Outcome("done", f"early stop: {why}")
        if job.world.at_epoch_end(stop):  # a signal to any rank, during the epoch's end too
            return Outcome("cancelled", f"{stop.reason} after epoch {epoch}")
    return Outcome("done", f"finished {_epochs_text(job.epochs)}")


def _evaluate_ema(job: Job) -> tuple[float, float] | None:
    """The average's val loss and accuracy (None without one). Its buffers become rank 0's, as
    the module's do: each rank averaged in its own batch-norm statistics."""
    if job.ema is None:
        return None
    job.world.sync_buffers(job.ema)
    return evaluate(job.ema.module, job.val_batches(), job.val_inputs, job.runtime, world=job.world)


def _epoch_end(
    job: Job,
    out: Outputs,
    train: TrainMetrics,
    epoch: int,
    val_loss: float,
    val_acc: float,
    raw: tuple[float, float] | None = None,
) -> int:
    """Record epoch `epoch`, save the best model and the state; the epochs without improvement.
    `raw`: the raw weights' val loss and accuracy when `val_*` are the average's."""
    state, early, hyper = job.state, job.preset.schedule.early_stop, job.hyper
    record = _epoch_end_event(epoch, hyper or job.schedules.at(epoch), train, val_loss, val_acc)
    if raw is not None:
        record["val_loss_raw"], record["val_acc_raw"] = finite(raw[0]), raw[1]
    out.emit(record)
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


def train_one_epoch(
    job: Job, batches: Batches, emit: EventSink, stop: StopFlag
) -> TrainMetrics | None:
    """One epoch (or the rest of it, after a resume); its metrics, or None when stopped part way
    (the sums so far are then in `job.state.partial`, for the resume)."""
    state, world = job.state, job.world
    epoch, first_step = state.epoch, state.step
    # each rank draws its own augmentation and dropout (rank 0 as a single process would)
    seed = world.rank_seed(job.preset.seed)
    if first_step == 0:
        # dropout and the like draw from torch's global generator: reseed it per epoch, so an
        # epoch does not depend on how the previous ones ran (a resumed mid-epoch run restores it)
        torch.manual_seed(derived_seed(seed, Stream.TRAIN_STEP, epoch))
    # an interrupted epoch's saved sums are every rank's together: rank 0 carries them on
    carried = (state.partial if world.is_main else None) or Partial()
    meter = EpochMeter(epoch, carried, job.runtime.device)
    progress = ProgressThrottle(
        emit, meter, steps=len(batches), ranks=world.size, seconds=PROGRESS_SECONDS
    )
    job.model.train()
    data = iter(batches.epoch(epoch, first_step))
    for step in itertools.count(first_step):
        error: Exception | None = None
        try:  # a failure here is voted on (`after_step`) before any rank enters a collective
            batch = next(data, None)
            if batch is None:
                break
            train_step(job, batch, step=step, seed=seed, share=batches.share(step), meter=meter)
            state.step = step + 1
            progress.after(state.step)
        except Exception as exc:
            error = exc
        # every rank votes after the same step: a signal to any of them stops all of them here
        if world.after_step(stop, epoch=epoch, step=step, error=error):
            state.partial = meter.partial(world)
            return None
    return meter.reduced(world)


def train_step(
    job: Job, batch: Batch, *, step: int, seed: int, share: float, meter: EpochMeter
) -> None:
    """One optimizer step: forward, loss, backward, update. Nothing here waits for the device
    (the meter's sums stay on it), so the host queues the next step while this one runs."""
    images, labels = batch
    inputs, targets = step_inputs(job, images, labels, step=step, seed=seed)
    with job.runtime.autocast():  # AMP: forward and loss in bf16/fp16 when the runtime chose it
        logits = job.model(inputs)
        loss: torch.Tensor = training_loss(job.preset)(logits, targets)
    job.optimizer.zero_grad(set_to_none=True)
    # `share` is 1.0 unless the batch splits unevenly among the ranks: weighting each rank's loss
    # by it makes DDP's mean of the ranks' gradients the gradient of the whole batch's mean loss
    weighted = loss * share if share != 1.0 else loss
    # fp16: the loss is scaled so small gradients survive; bf16 and fp32 pass through. With
    # several ranks, DDP all-reduces the gradients during this backward.
    job.scaler.scale(weighted).backward()  # type: ignore[no-untyped-call]
    job.scaler.step(job.optimizer)  # fp16: skipped when a gradient overflowed
    job.scaler.update()
    if job.ema is not None and job.preset.ema is not None:  # after every step, skipped or not
        update_ema(job.ema, job.module, epoch=job.state.epoch, spec=job.preset.ema)
    # a mixed batch's accuracy counts against each image's dominant label
    meter.add(step, loss, logits, dominant(targets))


def step_inputs(
    job: Job, images: torch.Tensor, labels: torch.Tensor, *, step: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """A training step's model inputs and targets (soft when the batch is mixed). Augmentation
    draws per image from (seed, epoch, step), mixup/cutmix per batch from its own stream of the
    same numbers: a resumed epoch draws the same."""
    epoch, device, inputs = job.state.epoch, job.runtime.device, job.train_inputs
    generator = step_generator(seed, epoch, step, device) if inputs.steps else None
    mixing = mix_generator(seed, epoch, step) if inputs.mix is not None else None
    return inputs.with_targets(images, labels, generator, mixing)


def training_loss(preset: Preset) -> nn.CrossEntropyLoss:
    """The training criterion: cross-entropy with the preset's label smoothing (`evaluate`
    always reports the plain cross-entropy)."""
    return nn.CrossEntropyLoss(label_smoothing=preset.loss.label_smoothing)


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
    # a rank that fails here is known to all before the sums below
    with world.between_collectives():
        for images, labels in batches.epoch(0):
            with runtime.autocast():
                logits = model(inputs(images, None))
            loss_sum += F.cross_entropy(logits.float(), labels, reduction="sum")
            correct += (logits.argmax(1) == labels).sum()
            count += labels.shape[0]
    loss_sum, correct, count = world.summed(loss_sum, correct, count)
    # one sync per evaluation
    return loss_sum.item() / max(count, 1), correct.item() / max(count, 1)
