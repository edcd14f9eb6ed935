"""fp32 against bf16 on this CPU, per model at a small image size: the figures behind the table
that `runtime: auto` falls back to when a run is too short to measure (`hw3tui.engine.hardware
.runtime.choose_precision`).

    .venv/bin/python benchmarks/cpu_precision.py                     # the default rows
    .venv/bin/python benchmarks/cpu_precision.py --models resnet50 --image-size 64 --rounds 8

Each model is timed with the runtime probe's own code (`hardware.probe.measure`: a throwaway copy
per setting, synthetic batches, one warm-up step each, then rounds of one step per setting,
interleaved so that load from other programs hits every setting alike; the fastest step of each
counts). Every row's ratios are against its own fp32 NCHW reference, measured in the same rounds of
the same command: absolute images/s swing with other programs' load, the ratios much less.
The last column is what measuring cost (warm-up included): what the probe would spend on a run.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

ROWS = (
    ("resnet18", 32),
    ("resnet18", 64),
    ("resnet50", 32),
    ("resnet50", 64),
    ("mobilenet_v2", 64),
)
"""(model, image size) timed by default: the sizes of sweeps' and tests' short runs."""


def row(model: str, image_size: int, batch: int, rounds: int, threads: int) -> str:
    import torch
    import torchvision

    from hw3tui.engine.hardware import probe
    from hw3tui.engine.hardware.probe import Setting, Workload

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    module = torchvision.models.get_model(model, num_classes=10)
    settings = [Setting(p, c) for p in ("fp32", "bf16") for c in (False, True)]
    work = Workload(model, image_size, 10, {batch: batch * 1000})
    probe.MAX_ROUNDS = rounds
    started = time.perf_counter()
    seconds = probe.measure(
        settings,
        module,
        work,
        lambda copy: torch.optim.SGD(copy.parameters(), lr=0.01, momentum=0.9),
        torch.device("cpu"),
        timer=probe._wall_timer(torch.device("cpu")),
        cap=600.0,
        max_steps=None,
    )
    cost = time.perf_counter() - started
    assert seconds is not None
    rate = {s.label: batch / min(seconds[(s, batch)]) for s in settings}
    reference = rate["fp32 NCHW"]
    cells = [f"{rate[s.label]:7.1f} ({rate[s.label] / reference:4.2f}x)" for s in settings]
    return f"| {model} | {image_size} | " + " | ".join(cells) + f" | {cost:5.1f} s |"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", help="default: the rows in ROWS")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5, help="timed steps per setting")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    from hw3tui.engine.hardware.cpuinfo import cpu_flags, cpu_model, native_bf16

    flags = cpu_flags()
    named = [f for f in ("avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    print(f"CPU: {cpu_model()}; flags: {', '.join(named) or 'none of avx512f/bf16/amx'}; ", end="")
    print(f"native bf16: {native_bf16(flags)}; threads {args.threads}; batch {args.batch_size}")
    print("images/s of training steps (ratio to the row's fp32 NCHW, same rounds)\n")
    print("| model | px | fp32 NCHW | fp32 CL | bf16 NCHW | bf16 CL | measuring took |")
    print("|---|---|---|---|---|---|---|")
    rows = [(m, args.image_size) for m in args.models] if args.models else ROWS
    for model, size in rows:
        print(row(model, size, args.batch_size, args.rounds, args.threads), flush=True)


if __name__ == "__main__":
    main()
