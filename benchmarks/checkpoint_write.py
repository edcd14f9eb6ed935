"""What the checkpoint's safety costs: hw3tui's chunked, checksummed, atomic write of a resnet50
state_dict against a plain `safetensors.torch.save_file` of the same tensors.

    .venv/bin/python benchmarks/checkpoint_write.py [--repeats 7] [--chunk-mb 45] [--dir DIR]

Random init, no download. Prints the median wall and CPU times, their ratio (goal <= 1.3x), and
the peak memory each write adds above the model itself (each measured in a fresh process, Linux
only). The CPU times do not depend on how busy the machine is; the wall times do.
`write_best` also fsyncs every file and the folder (what makes it survive a power cut);
`save_file` does not, so a `save_file + fsync` line is printed for a like-for-like view.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

MB = 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--chunk-mb", type=float, default=45.0)
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="where to write (a disk)")
    parser.add_argument("--memory", choices=["write_best", "save_file"], help=argparse.SUPPRESS)
    parser.add_argument("--channels-last", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory:
        print(peak_extra(args.memory, args.dir, args.chunk_mb, args.channels_last))
        return

    import torch

    torch.manual_seed(0)
    state = resnet50_state(channels_last=False)
    nbytes = sum(t.numel() * t.element_size() for t in state.values())
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="hw3tui-bench-") as folder:
        save_file, save_fsync, write_best = time_writes(state, Path(folder), args)
    ratio = median(write_best) / median(save_file)
    print(
        f"resnet50 state_dict: {nbytes / MB:.1f} MB in {len(state)} tensors; "
        f"{args.repeats} repetitions; chunk_mb {args.chunk_mb:g}; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(f"{'':34} {'median':>8} {'min':>8} {'CPU':>8}")
    for label, times in [
        ("safetensors.torch.save_file", save_file),
        ("save_file + fsync", save_fsync),
        ("hw3tui write_best (chunks+sums)", write_best),
    ]:
        print(f"{label:34} {median(times):7.3f}s {min(times)[0]:7.3f}s {median(times, 1):7.3f}s")
    print(f"ratio write_best / save_file: {ratio:.2f}x (goal <= 1.3x)")
    print(f"ratio write_best / (save_file + fsync): {median(write_best) / median(save_fsync):.2f}x")
    cpu_ratio = median(write_best, 1) / median(save_file, 1)
    print(f"CPU-time ratio write_best / save_file: {cpu_ratio:.2f}x")
    for layout in ("contiguous", "channels_last"):
        extra = {
            method: measure_in_child(method, args.dir, args.chunk_mb, layout == "channels_last")
            for method in ("save_file", "write_best")
        }
        print(
            f"peak extra memory, {layout} model: save_file {extra['save_file'] / MB:.1f} MB, "
            f"write_best {extra['write_best'] / MB:.1f} MB (model {nbytes / MB:.1f} MB)"
        )


def median(times: Times, column: int = 0) -> float:
    """Median wall (column 0) or CPU (column 1) seconds."""
    return statistics.median(t[column] for t in times)


def resnet50_state(*, channels_last: bool) -> dict[str, torch.Tensor]:
    import torch
    import torchvision

    model = torchvision.models.resnet50()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return dict(model.state_dict())


Times = list[tuple[float, float]]


def time_writes(
    state: dict[str, torch.Tensor], folder: Path, args: argparse.Namespace
) -> tuple[Times, Times, Times]:
    import safetensors.torch

    from hw3tui.engine.checkpoint import CheckpointInfo, write_best

    info = CheckpointInfo("bench", "resnet50", 0, "val_acc", 0.5, [str(i) for i in range(1000)])
    plain = folder / "plain.safetensors"

    def save() -> None:
        safetensors.torch.save_file(state, plain, metadata=info.to_metadata())

    def save_fsync() -> None:
        save()
        fd = os.open(plain, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)

    def chunked() -> None:
        write_best(state, folder / "best", info, chunk_mb=args.chunk_mb)

    results: tuple[Times, Times, Times] = ([], [], [])
    for function in (save, chunked):  # warm up: page cache, allocator, imports
        function()
    for _ in range(args.repeats):  # interleaved, so a burst of load hits all three alike
        for times, function in zip(results, (save, save_fsync, chunked), strict=True):
            times.append(timed(function))
    return results


def timed(function: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process, all threads)."""
    cpu, started = cpu_seconds(), time.perf_counter()
    function()
    return time.perf_counter() - started, cpu_seconds() - cpu


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure_in_child(method: str, folder: Path, chunk_mb: float, channels_last: bool) -> int:
    command = [sys.executable, __file__, "--memory", method, "--dir", str(folder)]
    command += ["--chunk-mb", str(chunk_mb)] + (["--channels-last"] if channels_last else [])
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])


def peak_extra(method: str, folder: Path, chunk_mb: float, channels_last: bool) -> int:
    """Peak resident memory during one write, above what the process held just before."""
    import safetensors.torch
    import torch

    from hw3tui.engine.checkpoint import CheckpointInfo, write_best

    torch.manual_seed(0)
    state = resnet50_state(channels_last=channels_last)
    info = CheckpointInfo("bench", "resnet50", 0, "val_acc", 0.5, ["a"])
    with tempfile.TemporaryDirectory(dir=folder, prefix="hw3tui-bench-") as tmp:
        before = resident()
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current
        if method == "save_file":  # it refuses non-contiguous tensors: copy them first
            contiguous = {k: v.contiguous() for k, v in state.items()}
            safetensors.torch.save_file(contiguous, Path(tmp) / "plain.safetensors")
        else:
            write_best(state, Path(tmp) / "best", info, chunk_mb=chunk_mb)
        return peak() - before


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status (Linux only)")


def resident() -> int:
    return _status_kb("VmRSS")


def peak() -> int:
    return _status_kb("VmHWM")


if __name__ == "__main__":
    main()
