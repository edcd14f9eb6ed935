"""One run from start to end: check every input, own the run directory, train, record the end.

    start_run(loaded, runs_dir=..., console=printer)   # hw3tui run
    resume_run(run, console=printer)                   # hw3tui resume

Bad input (data, weights, device, saved state, run directory) raises one of `BAD_INPUT` before
anything is trained; everything is checked before a run directory is created, so a bad preset
leaves nothing behind (a `--run-dir` that already existed, e.g. made by the TUI, is marked failed
with the reason instead). Once training starts the run always ends with a `run_end` event and a
final status: done, failed (NaN loss, out of memory, a crash: with the reason) or cancelled
(SIGINT/SIGTERM, after the current batch, with the state saved for resume).

`RunRecorder` is the only place that writes the run directory: under torchrun, the other ranks
get an `Outputs` that does nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

import hw3tui
from hw3tui.atomic import clean_leftovers, write_text_atomic
from hw3tui.engine.augment import Preprocess, build_augment
from hw3tui.engine.checkpoint import CheckpointInfo, write_best
from hw3tui.engine.data import DataError, Dataset, load_dataset
from hw3tui.engine.distributed import (
    SINGLE,
    DistributedError,
    Following,
    World,
    joined,
    lost_contact,
    under_torchrun,
)
from hw3tui.engine.events import Event, EventSink, RunState, event
from hw3tui.engine.loop import (
    Job,
    NonFiniteLoss,
    Outcome,
    Outputs,
    Schedules,
    StopFlag,
    fit,
)
from hw3tui.engine.models import WeightsError, build_model
from hw3tui.engine.runtime import DeviceError, Runtime, apply_threads, choose_device, choose_runtime
from hw3tui.engine.seeds import Stream, derived_seed
from hw3tui.engine.state import StateError, has_state, load_state, save_state
from hw3tui.preset import LoadedPreset, PresetError, load_preset
from hw3tui.preset.models import Optimizer, Preset
from hw3tui.result_header import stamp_result
from hw3tui.runs import RunDir, RunLocked

Note = Callable[[str], None]
"""Where setup messages go ("decoding 9866 images ..."), before the run's events exist."""


class RunDirError(ValueError):
    """A run directory that cannot be used for this (another run's, a live one, a finished one)."""


BAD_INPUT: tuple[type[Exception], ...] = (
    DataError,
    WeightsError,
    DeviceError,
    StateError,
    RunDirError,
    RunLocked,
    PresetError,
    DistributedError,
)
"""Errors that mean bad input (exit 2): raised before training starts, with a one-line message."""


@dataclass
class Setup:
    """Checked inputs of a run: nothing here has touched the run directory."""

    loaded: LoadedPreset
    dataset: Dataset
    runtime: Runtime
    module: nn.Module
    base_dir: Path
    world: World = SINGLE
    """The ranks training together (one process: `SINGLE`)."""

    @property
    def preset(self) -> Preset:
        return self.loaded.preset


def prepare(
    loaded: LoadedPreset,
    *,
    base_dir: Path,
    note: Note = lambda _: None,
    world: World = SINGLE,
) -> Setup:
    """Check the device, find and decode the data, build the model; `BAD_INPUT` errors if not."""
    preset = loaded.preset
    choose_device(preset.runtime.device)  # a missing GPU is reported before minutes of decoding
    world.check_batch_sizes(preset)
    note(_describe_data(preset))
    dataset = load_dataset(
        preset.data, seed=preset.seed, base_dir=base_dir, memory=world.memory_share()
    )
    runtime = world.adapt(
        choose_runtime(
            preset.runtime,
            backbone=preset.backbone.name,
            image_size=preset.data.image_size,
            cached=dataset.cached,
            workers=preset.data.workers,
        )
    )
    apply_threads(runtime)
    if preset.backbone.pretrained is True:
        note(f"loading torchvision's ImageNet weights for {preset.backbone.name}")
    torch.manual_seed(derived_seed(preset.seed, Stream.INIT))
    module = build_model(
        preset.backbone.name,
        num_classes=len(dataset.classes),
        image_size=preset.data.image_size,
        pretrained=preset.backbone.pretrained,
        base_dir=base_dir,
    )
    return Setup(loaded, dataset, runtime, module, base_dir, world)


def _describe_data(preset: Preset) -> str:
    data = preset.data
    if data.source == "shapes":
        count = data.shapes.classes * (data.shapes.train_per_class + data.shapes.val_per_class)
        return f"drawing {count} shapes images at {data.image_size} px"
    return f"reading {data.source} images from {data.train} at {data.image_size} px"


def make_job(setup: Setup) -> Job:
    """The model on its device, the optimizer, schedules and input pipelines."""
    preset, runtime = setup.preset, setup.runtime
    layout = torch.channels_last if runtime.channels_last else torch.contiguous_format
    module = setup.module.to(runtime.device).to(memory_format=layout)
    trained = setup.world.wrap(module, runtime.device)
    model: nn.Module = torch.compile(trained) if runtime.compile else trained  # type: ignore[assignment]
    schedules = Schedules(preset)
    first = schedules.at(0)
    steps = build_augment(preset.augment)
    return Job(
        preset=preset,
        model=model,
        module=module,
        optimizer=make_optimizer(preset.optimizer, module, lr=first.lr, wd=first.weight_decay),
        scaler=torch.amp.GradScaler(runtime.device.type, enabled=runtime.precision == "fp16"),
        schedules=schedules,
        train=setup.dataset.train,
        val=setup.dataset.val,
        train_inputs=Preprocess(steps, device=runtime.device, channels_last=runtime.channels_last),
        val_inputs=Preprocess([], device=runtime.device, channels_last=runtime.channels_last),
        runtime=runtime,
        world=setup.world,
    )


def make_optimizer(
    spec: Optimizer, module: nn.Module, *, lr: float, wd: float
) -> torch.optim.Optimizer:
    params = [p for p in module.parameters() if p.requires_grad]
    if spec.name == "sgd":
        return torch.optim.SGD(
            params, lr=lr, weight_decay=wd, momentum=spec.momentum, nesterov=spec.nesterov
        )
    if spec.name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd, betas=spec.betas)
    return torch.optim.AdamW(params, lr=lr, weight_decay=wd, betas=spec.betas)


# --- the run directory ----------------------------------------------------------------------


@dataclass
class RunRecorder:
    """The run's side effects: events (to events.jsonl and the console), status.json, the best
    checkpoint and the resumable state. Implements the loop's `Outputs`."""

    run: RunDir
    status: dict[str, Any]
    console: EventSink | None = None
    chunk_mb: float = 45.0
    classes: list[str] = field(default_factory=list)

    def emit(self, record: Event) -> None:
        self.run.append_event(record)
        self._update_status(record)
        if self.console is not None:
            self.console(record)

    def _update_status(self, record: Event) -> None:
        kind = record["type"]
        if kind == "run_start":
            self.status.update(state="running", ended=None, reason=None)
        elif kind == "epoch_end":
            self.status["epochs_done"] = record["epoch"] + 1
        elif kind == "checkpoint":
            self.status["best"] = {k: record[k] for k in ("epoch", "metric", "value", "path")}
        elif kind == "run_end":
            self.status.update(state=record["state"], ended=record["time"], reason=record["reason"])
        else:
            return
        self.run.write_status(self.status)
        if kind == "run_end":  # the frozen preset carries what the run achieved
            stamp_result(self.run)

    def save_best(self, job: Job, epoch: int, value: float) -> str:
        info = CheckpointInfo(
            preset=job.preset.name,
            backbone=job.preset.backbone.name,
            epoch=epoch,
            metric=job.monitor,
            value=value,
            classes=list(self.classes),
            image_size=job.preset.data.image_size,
        )
        path = write_best(job.module.state_dict(), self.run.best_dir, info, chunk_mb=self.chunk_mb)
        return str(path.relative_to(self.run.path))

    def save_state(self, job: Job) -> None:
        save_state(job, self.run.state_dir)
        job.world.barrier()  # the other ranks (`Following`) wait here for the save


def start_run(
    loaded: LoadedPreset,
    *,
    runs_dir: Path,
    run_dir: Path | None = None,
    console: EventSink | None = None,
    note: Note = lambda _: None,
    argv: list[str] | None = None,
    cwd: Path | None = None,
) -> Outcome:
    """Check everything, create (or claim) the run directory, train. `BAD_INPUT` on bad input.

    Under torchrun every rank calls this; rank 0 alone touches the run directory."""
    cwd = cwd or Path.cwd()
    with joined(loaded.preset.runtime) as world, contextlib.ExitStack() as stack:
        claimed: tuple[RunDir, bool] | None = None
        try:
            with world.agreeing():
                if run_dir is not None and world.is_main:
                    claimed = _claim(run_dir, stack)
                with _interrupt_on_sigterm():
                    setup = prepare(loaded, base_dir=cwd, note=_said_by(world, note), world=world)
            job = make_job(setup)
        except BaseException as exc:
            if claimed is not None:
                _abandon(*claimed, exc)
            raise
        if not world.is_main:
            return _fit(job, Following(world))
        run = claimed[0] if claimed else RunDir.create(runs_dir, loaded.preset.name)
        if claimed is None:
            stack.enter_context(run.lock())
        write_text_atomic(run.preset_file, loaded.text)
        status = {
            "state": "running",
            "pid": os.getpid(),
            "started": round(time.time(), 3),
            "ended": None,
            "best": None,
            "preset": loaded.preset.name,
            "backbone": loaded.preset.backbone.name,
            "epochs": loaded.preset.schedule.epochs,
            "epochs_done": 0,
            "device": str(setup.runtime.device),
            "cwd": str(cwd.resolve()),
            "argv": list(argv if argv is not None else sys.argv),
            "version": hw3tui.__version__,
            **_processes(world),
        }
        return train(job, setup, run, status, console)


def _claim(run_dir: Path, stack: contextlib.ExitStack) -> tuple[RunDir, bool]:
    """A `--run-dir` to start a run in: new, or empty but for a launcher's log.txt."""
    run = RunDir(run_dir)
    existed = run_dir.exists()
    if existed and not run_dir.is_dir():
        raise RunDirError(f"--run-dir {run_dir}: not a folder")
    if run.status_file.exists() or (run.events_file.exists() and run.events_file.stat().st_size):
        raise RunDirError(
            f"--run-dir {run_dir}: already holds a run; `hw3tui resume {run_dir}` continues it"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        stack.enter_context(run.lock())
    except RunLocked:
        raise RunDirError(f"--run-dir {run_dir}: in use by a running engine") from None
    return run, existed


def _abandon(run: RunDir, existed: bool, exc: BaseException) -> None:
    """Setup failed in a `--run-dir`: remove it if we made it, else mark it failed with why."""
    if not existed:
        shutil.rmtree(run.path, ignore_errors=True)
        return
    cancelled = isinstance(exc, KeyboardInterrupt)
    reason = "interrupted before training started" if cancelled else str(exc)
    record_end(run, "cancelled" if cancelled else "failed", reason)


def record_end(run: RunDir, state: RunState, reason: str) -> None:
    """End a run whose engine could not end it itself (setup failed; under torchrun, rank 0 was
    killed first): a `run_end` event and a final status, keeping what status.json knew."""
    now = round(time.time(), 3)
    status = run.read_status() or {
        "pid": os.getpid(), "started": now, "best": None, "epochs_done": 0,
        "version": hw3tui.__version__,
    }  # fmt: skip
    status.update(state=state, ended=now, reason=reason)
    with contextlib.suppress(OSError):
        run.append_event(event("run_end", state=state, best=status.get("best"), reason=reason))
        run.write_status(status)
        stamp_result(run)


def resume_run(
    run: RunDir,
    *,
    console: EventSink | None = None,
    note: Note = lambda _: None,
    argv: list[str] | None = None,
) -> Outcome:
    """Continue a cancelled, failed or killed run in its own directory, from its saved state."""
    status = run.read_status()
    if status is None:
        raise RunDirError(f"{run.path}: not a run (no status.json)")
    if run.is_live() and not under_torchrun():  # under torchrun, rank 0 checks it below
        raise RunDirError(f"{run.path}: still running (pid {status.get('pid')}); cancel it first")
    if status.get("state") == "done":
        raise RunDirError(f"{run.path}: already finished; nothing to resume")
    if not run.preset_file.is_file():
        raise RunDirError(f"{run.path}: never started training (no preset.yaml); use hw3tui run")
    loaded = load_preset(run.preset_file)
    cwd = Path(str(status.get("cwd") or Path.cwd()))
    with joined(loaded.preset.runtime) as world, contextlib.ExitStack() as stack:
        with world.agreeing():
            if world.is_main:
                if run.is_live():
                    raise RunDirError(
                        f"{run.path}: still running (pid {status.get('pid')}); cancel it first"
                    )
                stack.enter_context(run.lock())
                clean_leftovers(run.path)
            with _interrupt_on_sigterm():
                setup = prepare(loaded, base_dir=cwd, note=_said_by(world, note), world=world)
        job = make_job(setup)
        if has_state(run.state_dir):
            load_state(job, run.state_dir)
        if not world.is_main:
            return _fit(job, Following(world))
        status.update(pid=os.getpid(), state="running", ended=None, reason=None)
        status.update(_processes(world))
        if world.size == 1:
            status.pop("processes", None)
        status.setdefault("resumed", []).append(round(time.time(), 3))
        status["resumed_argv"] = list(argv if argv is not None else sys.argv)
        return train(job, setup, run, status, console, resumed=True)


# --- training and its ending ----------------------------------------------------------------


def train(
    job: Job,
    setup: Setup,
    run: RunDir,
    status: dict[str, Any],
    console: EventSink | None,
    *,
    resumed: bool = False,
) -> Outcome:
    """Train `job` in `run`, always ending with run_end and a final status."""
    preset, dataset = setup.preset, setup.dataset
    recorder = RunRecorder(
        run, status, console, preset.checkpoint.chunk_mb, classes=list(dataset.classes)
    )
    run.write_status(status)
    start = {"resumed_from_epoch": job.state.epoch, "resumed_from_step": job.state.step}
    recorder.emit(
        event(
            "run_start",
            preset=preset.name,
            device=str(setup.runtime.device),
            num_classes=len(dataset.classes),
            classes=list(dataset.classes),
            run=run.name,
            run_dir=str(run.path),
            epochs=preset.schedule.epochs,
            images={"train": len(dataset.train), "val": len(dataset.val)},
            cache_mb=dataset.cache_mb,
            data=dataset.description,
            backbone=preset.backbone.name,
            pretrained=str(preset.backbone.pretrained).lower()
            if isinstance(preset.backbone.pretrained, bool)
            else str(preset.backbone.pretrained),
            runtime=setup.runtime.as_json(),
            pid=os.getpid(),
            version=hw3tui.__version__,
            **_processes(job.world),
            **(start if resumed else {}),
        )
    )
    outcome = _fit(job, recorder)
    best = status.get("best")
    recorder.emit(event("run_end", state=outcome.state, best=best, reason=outcome.reason))
    return outcome


def _fit(job: Job, outputs: Outputs) -> Outcome:
    """`fit` until it ends, however it ends (a failure names its rank when several train)."""
    stop = StopFlag()
    try:
        with stop_on_signals(stop):
            return fit(job, outputs, stop)
    except NonFiniteLoss as exc:
        return Outcome("failed", job.world.failure(exc, str(exc)))
    except KeyboardInterrupt:
        return Outcome("cancelled", "stopped at once (second interrupt); resume continues "
                       "from the last saved epoch")  # fmt: skip
    except Exception as exc:
        reason = job.world.failure(exc, _failure(exc, job))
        # a rank that only lost its peers has no traceback worth showing
        quiet = job.world.size > 1 and lost_contact(exc)
        return Outcome("failed", reason, "" if quiet else traceback.format_exc())


def _said_by(world: World, note: Note) -> Note:
    """Setup messages come from rank 0 alone (every rank does the same setup)."""
    return note if world.is_main else lambda _: None


def _processes(world: World) -> dict[str, int]:
    """Recorded in status.json so `hw3tui resume` starts as many processes again."""
    return {"processes": world.size} if world.size > 1 else {}


def _failure(exc: BaseException, job: Job) -> str:
    if _out_of_memory(exc):
        size = job.hyper.batch_size if job.hyper is not None else "?"
        return (
            f"out of memory at batch size {size} (epoch {job.state.epoch}, step "
            f"{job.state.step}) on {job.runtime.device}: lower schedule.batch_size or "
            "data.image_size"
        )
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError | MemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text
    )


@contextlib.contextmanager
def stop_on_signals(stop: StopFlag) -> Iterator[None]:
    """SIGINT/SIGTERM ask the loop to stop after its current batch; a second one stops at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        if stop.requested:
            raise KeyboardInterrupt
        stop.request(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def _interrupt_on_sigterm() -> Iterator[None]:
    """Before training, SIGTERM stops like Ctrl-C (KeyboardInterrupt), so a launcher's cancel
    during a long decode still records the run as cancelled."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
