"""Where and how the arithmetic runs: device, precision, memory layout, threads, workers.

The rules below are the table `auto` falls back to (`hw3tui.engine.hardware.probe` measures
precision and layout on the machine itself; a run with several processes, or one too short to
measure and with nothing cached, takes the table). Each rule follows a measurement; the
figures, with the machine they were taken on, are in the README's "Performance" section (they go
stale as machines change, so they are not repeated here):
- precision on CPU: bf16 for the bottleneck ResNets (resnet50/101/152, ResNeXt, wide ResNets) on
  a CPU that computes bf16 natively (`avx512_bf16` or `amx_bf16` in /proc/cpuinfo's flags: see
  `cpuinfo`), fp32 for every other model and CPU. Why a table that knows the CPU rather than a
  probe squeezed into a short run: a run too short for the probe's 5 % could afford one timed
  step per candidate, and one step swings 0.7x to 5x on a shared machine, while the table costs
  nothing and is right where the figures agree (bf16 won for resnet50 on both CPUs measured,
  lost or tied for resnet18 at small sizes and for mobilenet_v2). `precision: bf16` or `fp32`
  forces it. On CUDA: bf16 where the GPU has bf16 tensor cores, else fp16 with loss scaling.
  On MPS: fp32 (not measured; the safe choice).
- channels_last: on for convolutional models on CPU, except the small basic-block ResNets
  (resnet18, resnet34) below `CPU_CHANNELS_LAST_FROM` px, where the plain layout won; on for CUDA
  (tensor-core convolutions want NHWC); off for the transformers (vit, swin, maxvit) and on MPS.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import torch

from hw3tui.engine.hardware.cpuinfo import cpu_flags, native_bf16
from hw3tui.errors import DeviceError as DeviceError  # defined with its family
from hw3tui.preset.models import Runtime as RuntimeSpec
from hw3tui.runs.events import Runtime as RuntimeRecord

Precision = Literal["fp32", "bf16", "fp16"]
TRANSFORMERS = ("vit_", "swin_", "maxvit")
BASIC_BLOCK_RESNETS = ("resnet18", "resnet34")
CPU_BF16_BACKBONES = ("resnet50", "resnet101", "resnet152", "resnext", "wide_resnet")
"""The models whose training the table runs in bf16 on a CPU with native bf16: the bottleneck
ResNets, where it won on every CPU measured (benchmarks/cpu_precision.py)."""
CPU_CHANNELS_LAST_FROM = 96
"""Image size from which channels_last pays off for the basic-block ResNets on CPU."""
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
"""Autocast's dtype for each mixed precision (fp32 runs without autocast)."""


@dataclass(frozen=True)
class Runtime:
    """The resolved `runtime` section of a preset."""

    device: torch.device
    precision: Precision
    channels_last: bool
    compile: bool
    threads: int
    workers: int
    auto: dict[str, Any] | None = None
    """How `auto` decided precision and layout (`hardware.probe`'s Decision, as JSON)."""

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        """Mixed precision for the forward pass (and its loss), or nothing in fp32."""
        if self.precision == "fp32":
            yield
            return
        with torch.autocast(self.device.type, dtype=AMP_DTYPES[self.precision]):
            yield

    def describe(self) -> str:
        layout = "channels_last" if self.channels_last else "NCHW"
        parts = [str(self.device), self.precision, layout]
        if self.device.type == "cpu":
            parts.append(f"{self.threads} threads")
        if self.compile:
            parts.append("compiled")
        return " · ".join(parts)

    def as_json(self) -> RuntimeRecord:
        return RuntimeRecord(
            device=str(self.device),
            precision=self.precision,
            channels_last=self.channels_last,
            compile=self.compile,
            threads=self.threads,
            workers=self.workers,
            **({"auto": self.auto} if self.auto is not None else {}),  # type: ignore[typeddict-item]
        )


def choose_runtime(
    spec: RuntimeSpec,
    *,
    backbone: str,
    image_size: int,
    cached: bool,
    workers: int | Literal["auto"],
) -> Runtime:
    """Resolve `auto` settings for this machine and model."""
    device = choose_device(spec.device)
    cores = cpu_count()
    chosen_workers = choose_workers(workers, device=device, cached=cached, cores=cores)
    threads = max(1, cores - chosen_workers) if device.type == "cpu" else max(1, min(cores, 4))
    precision: Precision = (
        choose_precision(device, backbone) if spec.precision == "auto" else spec.precision
    )
    channels_last = (
        choose_channels_last(device, backbone, image_size)
        if spec.channels_last == "auto"
        else bool(spec.channels_last)
    )
    return Runtime(device, precision, channels_last, spec.compile, threads, chosen_workers)


def choose_device(name: str) -> torch.device:
    """The device `runtime.device` names on this machine; a GPU becomes this process's current
    device (see `use_device`)."""
    device = _find_device(name)
    use_device(device)
    return device


def use_device(device: torch.device) -> None:
    """Make a GPU the current device before anything touches CUDA: pinned memory, loader pin
    threads, capability checks and new tensors go to the current device, so `cuda:1` alone would
    also open a context on GPU 0."""
    if device.type == "cuda":
        torch.cuda.set_device(device)


def _find_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"runtime.device: {name} asked for, but this machine has no CUDA GPU")
        count = torch.cuda.device_count()
        index = device.index if device.index is not None else torch.cuda.current_device()
        if index >= count:
            raise DeviceError(f"runtime.device: {name} asked for, but there are {count} GPUs")
        return torch.device("cuda", index)
    if device.type == "mps" and not _mps_available():
        raise DeviceError("runtime.device: mps asked for, but this machine has no Apple GPU")
    return device


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def choose_precision(
    device: torch.device, backbone: str, *, flags: Collection[str] | None = None
) -> Precision:
    """The table's precision (`flags`: the CPU's, read from /proc/cpuinfo unless given)."""
    if device.type == "cuda":
        return cuda_precision(device)
    if device.type == "cpu" and backbone.startswith(CPU_BF16_BACKBONES):
        return "bf16" if native_bf16(cpu_flags() if flags is None else flags) else "fp32"
    return "fp32"


BF16_FROM_CAPABILITY = 8
"""Compute capability from which a GPU has bf16 tensor cores (Ampere, sm_80)."""


def cuda_precision(device: torch.device) -> Precision:
    """bf16 on GPUs with bf16 hardware, else fp16 (with loss scaling). Not
    `torch.cuda.is_bf16_supported()`: by default it counts emulation, so it says yes on a T4, V100
    or P100, where bf16 convolutions are emulated and slower than fp32."""
    major, _minor = torch.cuda.get_device_capability(device)
    return "bf16" if major >= BF16_FROM_CAPABILITY else "fp16"


def choose_channels_last(device: torch.device, backbone: str, image_size: int) -> bool:
    if device.type not in ("cpu", "cuda") or backbone.startswith(TRANSFORMERS):
        return False
    if device.type == "cpu" and backbone in BASIC_BLOCK_RESNETS:
        return image_size >= CPU_CHANNELS_LAST_FROM
    return True


def choose_workers(
    workers: int | Literal["auto"], *, device: torch.device, cached: bool, cores: int
) -> int:
    """Loader processes: none for cached data (batches are gathered from memory); on a CPU run,
    few (every worker takes a core from the model); on a GPU run, enough to keep it fed."""
    if workers != "auto":
        return workers
    if cached:
        return 0
    if device.type == "cpu":
        return 0 if cores <= 2 else min(4, cores // 4 or 1)
    return max(1, min(8, cores - 1))


def cpu_count() -> int:
    """The cores this process may run on (its affinity: a container's or taskset's limit, not the
    machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def apply_threads(runtime: Runtime) -> None:
    """Process-wide settings for `runtime`: torch's thread count on a CPU run; on CUDA, cuDNN's
    autotuner (every batch of a run has the same image size, so the fastest convolution algorithm
    is measured once per batch shape and reused for every later step)."""
    if runtime.device.type == "cpu":
        torch.set_num_threads(runtime.threads)
    if runtime.device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        if runtime.precision == "fp32":
            # TF32 tensor cores for fp32 matmuls on Ampere and later (cuDNN's convolutions use
            # them already): the precision PyTorch's own AMP recipes train with
            torch.set_float32_matmul_precision("high")
