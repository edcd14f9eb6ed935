"""Training throughput: hw3tui's engine against a plain homework loop on the same work.

    .venv/bin/python benchmarks/train_throughput.py --model mobilenet_v2 --image-size 64
    .venv/bin/python benchmarks/train_throughput.py --suite cpu --markdown     # the README table
    .venv/bin/python benchmarks/train_throughput.py --suite gpu --markdown     # on a CUDA machine

One workload (model, image size, number of images, batch size, epochs, the four homework
augmentations: flip, padded random crop, affine, grayscale) is run three ways, each in a fresh
child process so none inherits another's memory or threads:

- engine:   hw3tui's real `start_run` path with its defaults (data read from PNG files in an
            ImageFolder, decoded once, augmented as batches on the device, runtime `auto`),
            writing a real run directory (best checkpoint and resumable state every epoch);
- plain:    benchmarks/plain_loop.py, a course-template loop (ImageFolder, PIL transforms,
            DataLoader, fp32, NCHW, `.item()` every step, evaluation every epoch);
- resident: the step rate with synthetic tensors already on the device and the model, batch,
            optimizer, precision and layout the engine picks (runtime auto measures again in
            this child, outside the timed steps): the ceiling for any data path.

Every child starts with an empty cache folder (XDG_CACHE_HOME), so runtime auto's measurement
(hw3tui.engine.hardware.probe) is inside the engine's wall time: the cpu suite's last five
rows train 180 steps, enough for it to measure (shorter runs use the table).

Images/s of engine and plain are end to end: training images x epochs over the wall time from
reading the data to the last evaluation. "engine train / resident" compares the engine's training
phase (its epochs after the first, when there are several) with the resident rate. The three are
run `--repeats` times in rotating order, so load from other programs hits each alike; the figures
are medians. "by CPU time" is engine ÷ plain counted in CPU seconds (each run's own and its loader
workers'), which load from other programs disturbs less than wall time. Peak memory is the
process's peak RSS (plus CUDA's max allocated on a GPU).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

VARIANTS = ("engine", "plain", "resident")
CLASSES = 6
"""Shape classes in the generated data set."""
RESULT = "RESULT "
"""Prefix of the JSON line a child prints."""


@dataclass(frozen=True)
class Workload:
    """One row of the benchmark."""

    model: str
    image_size: int
    images: int
    """Training images (rounded down to a multiple of the class count)."""
    val_images: int
    batch_size: int
    epochs: int
    optimizer: str
    """The homework recipe's: adam for mobilenet_v2, sgd for resnet50."""
    lr: float
    device: str = "auto"
    plain_workers: int = -1
    """DataLoader workers of the plain loop; -1: 0 on a CPU run (workers take the model's cores
    there), min(8, cores - 1) on a GPU run."""

    @property
    def padding(self) -> int:
        """The recipe's random-crop padding (16 px at 224 px), scaled with the image size."""
        return max(1, round(16 * self.image_size / 224))

    @property
    def train_per_class(self) -> int:
        return max(1, self.images // CLASSES)

    @property
    def val_per_class(self) -> int:
        return max(1, self.val_images // CLASSES)


def recipe_optimizer(model: str) -> tuple[str, float]:
    """The seed presets' optimizer: Adam 1e-3 for MobileNetV2, plain SGD 0.01 otherwise."""
    return ("adam", 1e-3) if model.startswith("mobilenet") else ("sgd", 0.01)


def suite(name: str) -> list[Workload]:
    """The README's rows: `cpu` (short, for a 2-core machine) or `gpu` (224 px, batch 64/128)."""
    rows: list[Workload] = []
    if name == "cpu":
        shapes = [
            ("mobilenet_v2", 64, 960, 192, 2),
            ("resnet50", 64, 384, 96, 2),
            ("mobilenet_v2", 224, 480, 96, 1),
            ("resnet50", 224, 192, 48, 1),
        ]
        # 180 steps: long enough for runtime auto to measure (in the engine's wall time)
        shapes += [
            ("resnet50", 64, 2880, 192, 2),
            ("resnet50", 128, 2880, 192, 2),
            ("resnet18", 64, 2880, 192, 2),
            ("resnet18", 128, 2880, 192, 2),
            ("mobilenet_v2", 64, 2880, 192, 2),
        ]
        for model, size, images, val, epochs in shapes:
            opt, lr = recipe_optimizer(model)
            rows.append(Workload(model, size, images, val, 32, epochs, opt, lr, device="cpu"))
        return rows
    for model in ("mobilenet_v2", "resnet50"):
        for batch in (64, 128):
            opt, lr = recipe_optimizer(model)
            rows.append(Workload(model, 224, 4096, 512, batch, 3, opt, lr, device="cuda"))
    return rows


# --- the data set --------------------------------------------------------------------------


def write_dataset(root: Path, workload: Workload) -> Path:
    """The built-in shapes, drawn at the workload's size and written as PNGs in ImageFolder form
    (`root/train/<class>/*.png`, `root/val/<class>/*.png`)."""
    import numpy as np
    from PIL import Image

    from hw3tui.engine.data.shapes import SHAPES, draw_shapes

    for split, per_class, seed in (
        ("train", workload.train_per_class, 1),
        ("val", workload.val_per_class, 2),
    ):
        images, labels = draw_shapes(
            classes=CLASSES,
            per_class=per_class,
            image_size=workload.image_size,
            seed=np.random.SeedSequence(seed),
        )
        for index, (image, label) in enumerate(zip(images, labels.tolist(), strict=True)):
            folder = root / split / SHAPES[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image.permute(1, 2, 0).numpy()).save(folder / f"{index:05d}.png")
    return root


# --- the three variants (each runs in its own child process) ------------------------------


def run_engine(workload: Workload, data: Path, work: Path) -> dict[str, Any]:
    """hw3tui's `start_run`, as `hw3tui run` calls it, on a preset for this workload."""
    from hw3tui.engine.training.session import start_run
    from hw3tui.preset import load_preset
    from hw3tui.runs.events import Event

    preset = work / "bench.yaml"
    preset.write_text(engine_preset(workload, data), encoding="utf-8")
    loaded = load_preset(preset)
    events: list[Event] = []
    started = time.perf_counter()
    outcome = start_run(loaded, runs_dir=work / "runs", console=events.append, argv=[], cwd=work)
    wall = time.perf_counter() - started
    if outcome.state != "done":
        raise RuntimeError(f"the engine run ended {outcome.state}: {outcome.reason}")
    start = next(e for e in events if e["type"] == "run_start")
    ends = [e for e in events if e["type"] == "epoch_end"]
    steady = ends[1:] or ends
    seconds = sum(e["seconds"] for e in steady)
    images = sum(e["images_per_s"] * e["seconds"] for e in steady)
    return {
        "wall": wall,
        "images": start["images"]["train"] * len(ends),
        "train_rate": images / seconds,
        "val_acc": ends[-1]["val_acc"],
        "runtime": start["runtime"],
        "cache_mb": start["cache_mb"],
    }


def engine_preset(workload: Workload, data: Path) -> str:
    """The workload as an hw3tui preset; everything not named here stays at its default."""
    settings = {
        "name": "bench",
        "seed": 0,
        "data": {
            "source": "imagefolder",
            "train": str(data / "train"),
            "val": str(data / "val"),
            "image_size": workload.image_size,
        },
        "backbone": {"name": workload.model, "pretrained": False},
        "optimizer": {"name": workload.optimizer},
        "augment": {
            "horizontal_flip": 0.5,
            "random_crop": {"padding": workload.padding},
            "affine": {"degrees": 15, "translate": [0.1, 0.1], "scale": [0.9, 1.1]},
            "grayscale": 0.1,
        },
        "schedule": {
            "epochs": workload.epochs,
            "lr": workload.lr,
            "batch_size": workload.batch_size,
        },
        "runtime": {"device": workload.device},
    }
    return json.dumps(settings, indent=2) + "\n"  # JSON is YAML


def run_plain(workload: Workload, data: Path, work: Path) -> dict[str, Any]:
    """benchmarks/plain_loop.py on the same files."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from plain_loop import train_plain

    from hw3tui.engine.hardware.runtime import choose_device

    device = choose_device(workload.device)
    workers = workload.plain_workers
    if workers < 0:
        workers = 0 if device.type == "cpu" else max(1, min(8, (os.cpu_count() or 2) - 1))
    result = train_plain(
        data,
        model_name=workload.model,
        image_size=workload.image_size,
        batch_size=workload.batch_size,
        epochs=workload.epochs,
        optimizer_name=workload.optimizer,
        lr=workload.lr,
        padding=workload.padding,
        device=str(device),
        workers=workers,
        out_dir=work,
    )
    steady = result["train_seconds"][1:] or result["train_seconds"]
    return {
        "wall": result["wall"],
        "images": result["train_images"] * workload.epochs,
        "train_rate": result["train_images"] * len(steady) / sum(steady),
        "val_acc": result["val_acc"],
        "workers": workers,
    }


def run_resident(workload: Workload, data: Path, work: Path) -> dict[str, Any]:
    """Training steps on synthetic tensors already on the device: no data path at all."""
    import torch
    import torch.nn.functional as F
    import torchvision

    from hw3tui.engine.hardware.probe import Workload as ProbeWorkload
    from hw3tui.engine.hardware.probe import settle
    from hw3tui.engine.hardware.runtime import apply_threads, choose_runtime
    from hw3tui.engine.training.job import make_optimizer
    from hw3tui.preset.models import Optimizer
    from hw3tui.preset.models import Runtime as RuntimeSpec

    runtime = choose_runtime(
        RuntimeSpec(device=workload.device),
        backbone=workload.model,
        image_size=workload.image_size,
        cached=True,
        workers="auto",
    )
    apply_threads(runtime)
    torch.manual_seed(0)
    model = torchvision.models.get_model(workload.model, num_classes=CLASSES)
    spec = Optimizer(name=workload.optimizer)
    images = {workload.batch_size: workload.train_per_class * CLASSES * workload.epochs}
    runtime, _ = settle(  # what runtime auto chooses (measured, as the engine's run does)
        runtime,
        RuntimeSpec(device=workload.device),
        model,
        ProbeWorkload(workload.model, workload.image_size, CLASSES, images),
        lambda copy: make_optimizer(spec, copy, lr=workload.lr, wd=0.0),
    )
    device = runtime.device
    layout = torch.channels_last if runtime.channels_last else torch.contiguous_format
    model = model.to(device).to(memory_format=layout)
    optimizer = make_optimizer(spec, model, lr=workload.lr, wd=0.0)
    scaler = torch.amp.GradScaler(device.type, enabled=runtime.precision == "fp16")
    size, batch = workload.image_size, workload.batch_size
    inputs = torch.randn(batch, 3, size, size, device=device).contiguous(memory_format=layout)
    labels = torch.randint(0, CLASSES, (batch,), device=device)

    def step() -> None:
        with runtime.autocast():
            loss = F.cross_entropy(model(inputs), labels)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
        scaler.step(optimizer)
        scaler.update()

    model.train()
    steps = max(3, min(60, workload.train_per_class * CLASSES // batch * workload.epochs))
    warmup = 5 if device.type == "cuda" else 1
    for _ in range(warmup):
        step()
    _sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    seconds = time.perf_counter() - started
    return {"train_rate": steps * batch / seconds, "steps": steps}


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


RUNNERS: dict[str, Callable[[Workload, Path, Path], dict[str, Any]]] = {
    "engine": run_engine,
    "plain": run_plain,
    "resident": run_resident,
}


def child(variant: str, workload: Workload, data: Path) -> None:
    """Run one variant and print its figures as one JSON line."""
    import hw3tui.engine.training.session  # noqa: F401 - imports (torch, torchvision) are not the run's

    load_before, cpu_before = os.getloadavg()[0], cpu_seconds()
    with tempfile.TemporaryDirectory(prefix=f"hw3tui-bench-{variant}-") as work:
        result = RUNNERS[variant](workload, data, Path(work))
    result["cpu_seconds"] = cpu_seconds() - cpu_before
    result["peak_rss_mb"] = peak_rss_mb()
    result["load"] = (load_before + os.getloadavg()[0]) / 2
    import torch

    if torch.cuda.is_available() and workload.device != "cpu":
        result["cuda_max_allocated_mb"] = torch.cuda.max_memory_allocated() / 2**20
        result["gpu"] = torch.cuda.get_device_name()
    result["threads"] = torch.get_num_threads()
    print(RESULT + json.dumps(result), flush=True)


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (loader workers), in seconds."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM; ru_maxrss where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


# --- running and reporting -----------------------------------------------------------------


def measure(workload: Workload, data: Path, repeats: int, log: Callable[[str], None]) -> Row:
    """Each variant `repeats` times, in rotating order, each in a fresh child process."""
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    for repeat in range(repeats):
        order = VARIANTS[repeat % 3 :] + VARIANTS[: repeat % 3]
        for variant in order:
            result = spawn(variant, workload, data)
            runs[variant].append(result)
            rate = result.get("images", 0) / result["wall"] if "wall" in result else 0.0
            log(
                f"  {variant:8} repeat {repeat + 1}/{repeats}: "
                + (f"{rate:.1f} img/s end to end, " if rate else "")
                + f"{result['train_rate']:.1f} img/s training (load {result['load']:.2f})"
            )
    return Row(workload, runs)


def spawn(variant: str, workload: Workload, data: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        variant,
        "--workload",
        json.dumps(asdict(workload)),
        "--data",
        str(data),
    ]
    with tempfile.TemporaryDirectory(prefix="hw3tui-bench-cache-") as cache:
        # an empty cache folder: runtime auto measures in every run, inside its wall time
        env = {**os.environ, "XDG_CACHE_HOME": cache}
        done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT):
            result: dict[str, Any] = json.loads(line[len(RESULT) :])
            return result
    raise RuntimeError(f"{variant} run failed (exit {done.returncode}):\n{done.stderr[-3000:]}")


@dataclass
class Row:
    """A workload's measurements; medians over the repeats."""

    workload: Workload
    runs: dict[str, list[dict[str, Any]]]

    def median(self, variant: str, key: str) -> float:
        return statistics.median(float(r[key]) for r in self.runs[variant])

    def end_to_end(self, variant: str, clock: str = "wall") -> float:
        """Training images per second of `clock`: wall time, or CPU time ("cpu_seconds"), which
        load from other programs disturbs less."""
        runs = self.runs[variant]
        return statistics.median(float(r["images"]) / float(r[clock]) for r in runs)

    def values(self) -> dict[str, Any]:
        engine, plain = self.end_to_end("engine"), self.end_to_end("plain")
        cpu_ratio = self.end_to_end("engine", "cpu_seconds") / self.end_to_end(
            "plain", "cpu_seconds"
        )
        resident = self.median("resident", "train_rate")
        engine_train = self.median("engine", "train_rate")
        runtime = self.runs["engine"][0]["runtime"]
        rss = self.median("engine", "peak_rss_mb"), self.median("plain", "peak_rss_mb")
        memory = f"{rss[0]:,.0f} / {rss[1]:,.0f} MB"
        if "cuda_max_allocated_mb" in self.runs["engine"][0]:
            memory += (
                f" (CUDA {self.median('engine', 'cuda_max_allocated_mb'):,.0f} / "
                f"{self.median('plain', 'cuda_max_allocated_mb'):,.0f} MB)"
            )
        w = self.workload
        return {
            "model": w.model,
            "px": w.image_size,
            "batch": w.batch_size,
            "images × epochs": f"{w.train_per_class * CLASSES} × {w.epochs}",
            "engine img/s": f"{engine:.1f}",
            "plain img/s": f"{plain:.1f}",
            # three significant digits: a small ratio (a tiny workload's startup) keeps its own
            "engine ÷ plain": f"**{engine / plain:#.3g}×**",
            "by CPU time": f"{cpu_ratio:#.3g}×",
            "resident img/s": f"{resident:.1f}",
            "engine train ÷ resident": f"{engine_train / resident:#.3g}",
            "engine runtime": describe_runtime(runtime),
            "peak memory engine / plain": memory,
            "load": f"{statistics.median(r['load'] for v in VARIANTS for r in self.runs[v]):.1f}",
        }


def describe_runtime(runtime: dict[str, Any]) -> str:
    layout = "channels_last" if runtime["channels_last"] else "NCHW"
    auto = runtime.get("auto") or {}
    how = auto.get("how", "")
    if how == "measured":
        how = f"measured in {auto.get('probe_seconds')} s"
    elif auto.get("why"):
        how = f"{how}: {auto['why']}"
    return f"{runtime['device']} {runtime['precision']} {layout}" + (f" ({how})" if how else "")


def markdown(rows: Sequence[Row]) -> str:
    table = [row.values() for row in rows]
    header = list(table[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(values[k]) for k in header) + " |" for values in table]
    return "\n".join(lines)


def plain_text(rows: Sequence[Row]) -> str:
    blocks = []
    for row in rows:
        values = row.values()
        blocks.append("\n".join(f"  {k:28} {str(v).replace('**', '')}" for k, v in values.items()))
    return "\n\n".join(blocks)


def machine() -> str:
    import platform

    import torch

    from hw3tui.engine.hardware.runtime import cpu_count

    cores = cpu_count()
    parts = [f"{cores} CPU cores ({platform.processor() or platform.machine()})"]
    if torch.cuda.is_available():
        parts.append(torch.cuda.get_device_name())
    parts.append(f"torch {torch.__version__}")
    return ", ".join(parts)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=["cpu", "gpu"], help="the README's rows")
    parser.add_argument("--rows", help="only these rows of the suite, e.g. 0,2 (from 0)")
    parser.add_argument("--model", default="mobilenet_v2")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--images", type=int, default=1200, help="training images")
    parser.add_argument("--val-images", type=int, help="default: a fifth of --images")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--optimizer", choices=["adam", "sgd"], help="default: the recipe's")
    parser.add_argument("--lr", type=float)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    parser.add_argument("--plain-workers", type=int, default=-1, help="-1: auto")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, Workload(**json.loads(args.workload)), args.data)
        return

    if args.suite:
        workloads = suite(args.suite)
        if args.rows:
            workloads = [workloads[int(i)] for i in args.rows.split(",")]
        if args.device != "auto":
            workloads = [replace(w, device=args.device) for w in workloads]
    else:
        opt, lr = recipe_optimizer(args.model)
        workloads = [
            Workload(
                args.model,
                args.image_size,
                args.images,
                args.val_images or max(CLASSES, args.images // 5),
                args.batch_size,
                args.epochs,
                args.optimizer or opt,
                args.lr or lr,
                device=args.device,
                plain_workers=args.plain_workers,
            )
        ]

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    rows = []
    with tempfile.TemporaryDirectory(prefix="hw3tui-bench-data-") as folder:
        written: dict[tuple[int, int, int], Path] = {}  # rows of the same images share them
        for workload in workloads:
            log(
                f"{workload.model} {workload.image_size} px, batch {workload.batch_size}, "
                f"{workload.train_per_class * CLASSES} images x {workload.epochs} epochs"
            )
            key = (workload.image_size, workload.train_per_class, workload.val_per_class)
            if key not in written:
                written[key] = write_dataset(Path(folder) / f"data{len(written)}", workload)
            rows.append(measure(workload, written[key], args.repeats, log))
    print(f"{machine()}; medians of {args.repeats} repeats; load = 1-minute load average")
    print()
    print(markdown(rows) if args.markdown else plain_text(rows))


if __name__ == "__main__":
    main()
