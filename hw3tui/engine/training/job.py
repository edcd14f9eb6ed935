"""A run's job built from a checked preset: the device, the data, the model; then the model on its
device with its optimizer, schedules and input pipelines. Nothing here touches the run directory."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import torch
from torch import nn

from hw3tui.engine.data.augment import Preprocess, build_augment
from hw3tui.engine.data.datasets import Dataset, load_dataset
from hw3tui.engine.data.mix import build_mix
from hw3tui.engine.distributed.world import (
    SINGLE,
    World,
)
from hw3tui.engine.hardware.probe import Tune, Workload, settle
from hw3tui.engine.hardware.runtime import (
    DeviceError,
    Runtime,
    apply_threads,
    choose_device,
    choose_runtime,
)
from hw3tui.engine.models import build_model
from hw3tui.engine.seeds import Stream, derived_seed
from hw3tui.engine.training.ema import make_ema
from hw3tui.engine.training.hyper import Schedules
from hw3tui.engine.training.loop import Job
from hw3tui.preset import LoadedPreset
from hw3tui.preset.models import Optimizer, Preset
from hw3tui.preset.schedule import planned_batch_sizes
from hw3tui.runs.events import Note


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
    tune: Tune | None = None,
) -> Setup:
    """Check the device, find and decode the data, build the model and settle `auto` precision
    and layout on it (`tune`: measured whatever the run's length); `BadInput` errors if not."""
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
    check_compile(runtime)
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
    runtime, _ = settle(
        runtime,
        preset.runtime,
        module,
        _workload(preset, len(dataset.train), len(dataset.classes)),
        lambda copy: _first_optimizer(preset, copy),
        may_measure=world.size == 1,  # ranks measuring apart could choose apart
        tune=tune,
        note=note,
    )
    return Setup(loaded, dataset, runtime, module, base_dir, world)


def check_compile(runtime: Runtime) -> None:
    """`DeviceError` (bad input, before the run folder exists) when `runtime.compile` cannot
    work: torch.compile on a GPU generates Triton kernels, and without Triton it fails at the
    first training step."""
    if runtime.compile and runtime.device.type == "cuda" and find_spec("triton") is None:
        raise DeviceError(
            "runtime.compile: torch.compile on a GPU needs Triton, which is not installed "
            "(pip install triton, or set runtime.compile: false)"
        )


def _workload(preset: Preset, images: int, classes: int) -> Workload:
    """The images the run trains at each of its batch sizes (a plateau schedule's later sizes
    are not known up front: its first size stands for them)."""
    images_at: dict[int, int] = {}
    for size in planned_batch_sizes(preset.schedule):
        images_at[size] = images_at.get(size, 0) + images
    return Workload(preset.backbone.name, preset.data.image_size, classes, images_at)


def _first_optimizer(preset: Preset, module: nn.Module) -> torch.optim.Optimizer:
    first = Schedules(preset).at(0)
    return make_optimizer(preset.optimizer, module, lr=first.lr, wd=first.weight_decay)


def _describe_data(preset: Preset) -> str:
    data = preset.data
    if data.source == "shapes":
        count = data.shapes.classes * (data.shapes.train_per_class + data.shapes.val_per_class)
        return f"drawing {count} shapes images at {data.image_size} px"
    return f"reading {data.source} images from {data.train} at {data.image_size} px"


def make_job(setup: Setup) -> Job:
    """The model on its device, the optimizer, schedules and input pipelines: this process's own
    work, nothing shared with other ranks. `job.model` is the plain module until `connect`."""
    preset, runtime = setup.preset, setup.runtime
    layout = torch.channels_last if runtime.channels_last else torch.contiguous_format
    module = setup.module.to(runtime.device).to(memory_format=layout)
    setup.world.test_fault("job")
    schedules = Schedules(preset)
    first = schedules.at(0)
    steps = build_augment(preset.augment)
    optimizer = make_optimizer(
        preset.optimizer,
        module,
        lr=first.lr,
        wd=first.weight_decay,
        fused=runtime.device.type == "cuda",
    )
    return Job(
        preset=preset,
        model=module,
        module=module,
        optimizer=optimizer,
        scaler=torch.amp.GradScaler(runtime.device.type, enabled=runtime.precision == "fp16"),
        schedules=schedules,
        train=setup.dataset.train,
        val=setup.dataset.val,
        train_inputs=Preprocess(
            steps,
            device=runtime.device,
            channels_last=runtime.channels_last,
            mix=build_mix(preset.augment, classes=len(setup.dataset.classes)),
        ),
        val_inputs=Preprocess([], device=runtime.device, channels_last=runtime.channels_last),
        runtime=runtime,
        world=setup.world,
        ema=make_ema(module, preset.ema) if preset.ema is not None else None,
    )


def connect(job: Job) -> None:
    """What trains forward: DDP around the module when several ranks train (building it is a
    collective, which broadcasts rank 0's weights: every rank must have built its job first),
    compiled when the preset asks. Training only: a one-pass eval or predict is not compiled."""
    trained = job.world.wrap(job.module, job.runtime.device)
    job.model = torch.compile(trained) if job.runtime.compile else trained  # type: ignore[assignment]


def make_optimizer(
    spec: Optimizer, module: nn.Module, *, lr: float, wd: float, fused: bool = False
) -> torch.optim.Optimizer:
    """The preset's optimizer; `fused` (on CUDA) runs its update as one kernel, which also lets
    GradScaler skip its per-step host sync (`.item()` on the inf check)."""
    params = [p for p in module.parameters() if p.requires_grad]
    if spec.name == "sgd":
        return torch.optim.SGD(
            params,
            lr=lr,
            weight_decay=wd,
            momentum=spec.momentum,
            nesterov=spec.nesterov,
            fused=fused,
        )
    if spec.name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd, betas=spec.betas, fused=fused)
    return torch.optim.AdamW(params, lr=lr, weight_decay=wd, betas=spec.betas, fused=fused)
