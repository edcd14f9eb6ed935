"""What `runtime: auto` picks, and a device the machine lacks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from hw3tui.engine.hardware import cpuinfo as cpuinfo_module
from hw3tui.engine.hardware.runtime import (
    DeviceError,
    choose_device,
    choose_precision,
    choose_runtime,
    choose_workers,
)
from hw3tui.preset.models import Runtime as RuntimeSpec

CPU = torch.device("cpu")


@pytest.mark.parametrize(
    ("backbone", "size", "channels_last"),
    [
        ("mobilenet_v2", 48, True),
        ("efficientnet_b0", 224, True),
        ("resnet50", 64, True),
        ("resnet18", 48, False),
        ("resnet18", 128, True),
        ("vit_b_16", 224, False),
        ("swin_t", 224, False),
    ],
)
def test_auto_on_cpu(
    backbone: str, size: int, channels_last: bool, cpuinfo: Callable[[str], None]
) -> None:
    cpuinfo("fpu sse2 avx2 avx512f")  # no native bf16: fp32 for every model
    chosen = choose_runtime(
        RuntimeSpec(device="cpu"), backbone=backbone, image_size=size, cached=True, workers="auto"
    )
    assert chosen.device == CPU
    assert chosen.precision == "fp32"
    assert chosen.channels_last is channels_last
    assert chosen.workers == 0


@pytest.fixture
def cpuinfo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Writes a fake /proc/cpuinfo with these flags (two CPUs, as the file lists each core)."""
    fake = tmp_path / "cpuinfo"

    def write(flags: str) -> None:
        core = f"processor\t: {{n}}\nmodel name\t: Fake EPYC\nflags\t\t: {flags}\n\n"
        fake.write_text(core.format(n=0) + core.format(n=1))
        cpuinfo_module._read.cache_clear()

    monkeypatch.setattr(cpuinfo_module, "CPUINFO", fake)
    yield write
    cpuinfo_module._read.cache_clear()


@pytest.mark.parametrize(
    ("flags", "backbone", "precision"),
    [
        ("fpu avx2 avx512f avx512_bf16 avx512_vnni", "resnet50", "bf16"),  # AMD Zen 4 (EPYC)
        ("fpu avx2 avx512f amx_bf16 amx_tile", "resnet50", "bf16"),  # Sapphire Rapids
        ("fpu avx2 avx512f avx512_bf16", "resnet101", "bf16"),
        ("fpu avx2 avx512f avx512_bf16", "wide_resnet50_2", "bf16"),
        ("fpu avx2 avx512f avx512_vnni", "resnet50", "fp32"),  # AVX-512 alone: emulated bf16
        ("fpu avx2", "resnet50", "fp32"),
        ("fpu avx2 avx512f avx512_bf16 amx_bf16", "resnet18", "fp32"),  # lost at small sizes
        ("fpu avx2 avx512f avx512_bf16 amx_bf16", "mobilenet_v2", "fp32"),
    ],
)
def test_the_cpu_table_picks_bf16_for_bottleneck_resnets_where_bf16_is_native(
    cpuinfo: Callable[[str], None], flags: str, backbone: str, precision: str
) -> None:
    cpuinfo(flags)
    chosen = choose_runtime(
        RuntimeSpec(device="cpu"), backbone=backbone, image_size=64, cached=True, workers="auto"
    )
    assert chosen.precision == precision
    forced = RuntimeSpec(device="cpu", precision="fp32")
    assert (
        choose_runtime(forced, backbone=backbone, image_size=64, cached=True, workers=0).precision
        == "fp32"
    )


def test_an_unreadable_cpuinfo_is_no_native_bf16(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cpuinfo_module, "CPUINFO", tmp_path / "missing")
    cpuinfo_module._read.cache_clear()
    try:
        assert choose_precision(CPU, "resnet50") == "fp32"
        assert choose_precision(CPU, "resnet50", flags={"amx_bf16"}) == "bf16"
    finally:
        cpuinfo_module._read.cache_clear()


def test_explicit_settings_win() -> None:
    spec = RuntimeSpec(device="cpu", precision="bf16", channels_last=True)
    chosen = choose_runtime(spec, backbone="resnet18", image_size=32, cached=False, workers=3)
    assert (chosen.precision, chosen.channels_last, chosen.workers) == ("bf16", True, 3)


def test_workers_auto() -> None:
    assert choose_workers("auto", device=CPU, cached=True, cores=16) == 0
    assert choose_workers("auto", device=CPU, cached=False, cores=2) == 0
    assert choose_workers("auto", device=CPU, cached=False, cores=16) == 4
    assert choose_workers("auto", device=torch.device("cuda"), cached=False, cores=16) == 8


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_missing_gpu_is_bad_input() -> None:
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        choose_device("cuda:0")


@pytest.mark.parametrize(
    ("capability", "precision"),
    [((6, 0), "fp16"), ((7, 0), "fp16"), ((7, 5), "fp16"), ((8, 0), "bf16"), ((9, 0), "bf16")],
)
def test_auto_precision_on_cuda_follows_the_gpus_capability(
    monkeypatch: pytest.MonkeyPatch, capability: tuple[int, int], precision: str
) -> None:
    """bf16 needs the tensor cores of compute capability 8 (Ampere) or later; a T4 (7.5) or V100
    (7.0) emulates it, slower than fp32, though `is_bf16_supported()` says yes there."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "set_device", lambda device: None)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    chosen = choose_runtime(
        RuntimeSpec(device="cuda"), backbone="resnet18", image_size=64, cached=True, workers=0
    )
    assert chosen.precision == precision


def test_a_named_gpu_becomes_the_current_device_before_cuda_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`runtime.device: cuda:1`: GPU 1 is made current before the capability check (and so
    before pinned memory or loader threads), or they would open a context on GPU 0."""
    calls: list[tuple[str, object]] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: calls.append(("set_device", d)))

    def capability(device: object = None) -> tuple[int, int]:
        calls.append(("capability", device))
        return (8, 0)

    monkeypatch.setattr(torch.cuda, "get_device_capability", capability)
    chosen = choose_runtime(
        RuntimeSpec(device="cuda:1"), backbone="resnet18", image_size=64, cached=True, workers=0
    )
    gpu1 = torch.device("cuda", 1)
    assert chosen.device == gpu1
    assert calls[0] == ("set_device", gpu1)
    assert ("capability", gpu1) in calls


def test_fp32_on_cuda_uses_tf32_matmuls(monkeypatch: pytest.MonkeyPatch) -> None:
    from hw3tui.engine.hardware.runtime import Runtime, apply_threads

    monkeypatch.setattr(torch.backends.cudnn, "benchmark", torch.backends.cudnn.benchmark)
    before = torch.get_float32_matmul_precision()
    try:
        cuda = torch.device("cuda", 0)
        apply_threads(Runtime(cuda, "bf16", True, False, threads=4, workers=0))
        assert torch.get_float32_matmul_precision() == before  # autocast runs the matmuls
        apply_threads(Runtime(cuda, "fp32", True, False, threads=4, workers=0))
        assert torch.get_float32_matmul_precision() == "high"
        assert torch.backends.cudnn.benchmark
    finally:
        torch.set_float32_matmul_precision(before)


def test_compile_on_a_gpu_without_triton_is_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    from hw3tui.engine.hardware.runtime import Runtime
    from hw3tui.engine.training import job

    cuda = torch.device("cuda", 0)
    compiled = Runtime(cuda, "bf16", True, True, threads=4, workers=0)
    job.check_compile(compiled)  # Triton is installed here
    monkeypatch.setattr(job, "find_spec", lambda name: None)
    with pytest.raises(DeviceError, match="needs Triton"):
        job.check_compile(compiled)
    job.check_compile(Runtime(cuda, "bf16", True, False, threads=4, workers=0))
    job.check_compile(Runtime(CPU, "fp32", True, True, threads=4, workers=0))
