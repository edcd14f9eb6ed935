"""Measured `auto`: precision and memory layout timed on the machine that trains.

Which of fp32/bf16 and NCHW/channels_last is fastest depends on the CPU (AMX or AVX512-BF16, or
neither), the model, the image size and the batch size: measured 0.8x to 1.9x for bf16 on the
same ResNet on different CPUs. So with `runtime.precision` and/or `runtime.channels_last` at `auto`
the candidates are timed on the run's own model, image size and batch sizes: a few training steps
each, interleaved (load from other programs hits every candidate alike), the fastest step of each
counted. Each candidate trains a deep copy of the model with its own optimizer on synthetic
batches drawn from a private generator, and torch's, NumPy's and Python's random streams are put
back afterwards: the run itself is bit-identical to one with the chosen setting fixed.

The fastest wins unless a simpler setting is within `MARGIN` of it (then the simpler: fp32 before
bf16, NCHW before channels_last). The answer is cached per machine, torch version, threads,
backbone, image size and batch sizes (`probe_cache`), so the second run pays nothing. Budget: at
most `FRACTION` of the run's training steps and `MAX_SECONDS` (`hw3tui.probe_budget`: the rule
a sweep's probe shares); a run too short for that uses the cached answer or the table in
`runtime`; a sweep whose trials of a workload train enough steps in all measures once before its
first trial (`hw3tui tune --as-run`, run by `hw3tui.sweeps.probe` with `Tune(reuse=True)`) so its
short trials find the answer cached. A batch-size schedule's sizes are all measured up front
(each weighted by the images the run trains at it), since one setting serves the whole run.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hw3tui.engine.hardware import probe_cache
from hw3tui.engine.hardware.runtime import AMP_DTYPES, Precision, Runtime
from hw3tui.preset.models import Runtime as RuntimeSpec
from hw3tui.probe_budget import FRACTION, MAX_BATCH_SIZES, affords

MARGIN = 0.05
"""A setting must be this much faster than a simpler one to be chosen over it."""
MAX_SECONDS = 15.0
"""The most seconds the probe may take in a run."""
TUNE_SECONDS = 60.0
"""The most seconds `hw3tui tune` measures for."""
MAX_ROUNDS = 5
"""Timed steps per candidate and batch size, at most."""

FAKE_STEPS_ENV = "HW3TUI_TEST_STEP_SECONDS"
"""Tests only: `LABEL=SECONDS,...` (e.g. `fp32 channels_last=0.01`) says every step of a setting
took that long (0.02 s when not named) without running it, so that tests in child processes
(a sweep's probe, its trials) see one known answer whatever the machine's load. Unset: real time."""

How = Literal["measured", "cached", "table", "forced"]
StepTimer = Callable[["Setting", int, Callable[[], None]], float]
"""Runs one training step of a candidate at a batch size; returns its seconds."""
OptimizerFor = Callable[[nn.Module], torch.optim.Optimizer]


@dataclass(frozen=True)
class Setting:
    """One candidate: a precision and a memory layout."""

    precision: Precision
    channels_last: bool

    @property
    def label(self) -> str:
        return f"{self.precision} {'channels_last' if self.channels_last else 'NCHW'}"

    @property
    def simplicity(self) -> tuple[bool, bool]:
        """Lower is simpler: fp32 first, then NCHW."""
        return (self.precision != "fp32", self.channels_last)


@dataclass(frozen=True)
class Workload:
    """What the run will train: the images it trains at each batch size."""

    backbone: str
    image_size: int
    num_classes: int
    images_at: dict[int, int]
    """Batch size -> training images over the whole run at that size."""

    @property
    def steps(self) -> int:
        return sum(-(-images // size) for size, images in self.images_at.items())

    @property
    def batch_sizes(self) -> list[int]:
        ranked = sorted(self.images_at, key=lambda size: -self.images_at[size])
        return sorted(ranked[:MAX_BATCH_SIZES])


@dataclass(frozen=True)
class Tune:
    """Measuring on purpose (`hw3tui tune`, a sweep before its first trial): whatever the run's
    length, for up to `seconds`."""

    seconds: float = TUNE_SECONDS
    reuse: bool = False
    """Answer from the cache when it covers the question, measure only when not (a sweep's
    probe: its second worker, or `sweep resume`, pays nothing); `hw3tui tune` measures anew."""


@dataclass(frozen=True)
class Decision:
    """What `auto` chose and how it knows."""

    setting: Setting
    how: How
    why: str = ""
    rates: dict[str, dict[int, float]] = field(default_factory=dict)
    """Candidate label -> batch size -> training images per second."""
    seconds: float = 0.0
    """What measuring cost (0 when nothing was measured)."""

    def as_json(self) -> dict[str, Any]:
        rates = {label: {str(k): v for k, v in by.items()} for label, by in self.rates.items()}
        return {
            "how": self.how,
            "why": self.why,
            "rates": rates,
            "probe_seconds": round(self.seconds, 2),
        }


def candidates(spec: RuntimeSpec, table: Runtime) -> list[Setting]:
    """The settings `auto` chooses among on this device (one: nothing to measure)."""
    precisions: list[Precision] = [table.precision]
    if spec.precision == "auto" and table.device.type == "cpu" and _cpu_has_bf16():
        precisions = ["fp32", "bf16"]
    layouts = [table.channels_last]
    if spec.channels_last == "auto" and table.device.type in ("cpu", "cuda"):
        layouts = [False, True]
    return sorted((Setting(p, c) for p in precisions for c in layouts), key=lambda s: s.simplicity)


def _cpu_has_bf16() -> bool:
    mkldnn = getattr(torch.ops, "mkldnn", None)
    check = getattr(mkldnn, "_is_mkldnn_bf16_supported", None)
    return bool(check()) if check is not None else False


def settle(
    table: Runtime,
    spec: RuntimeSpec,
    module: nn.Module,
    workload: Workload,
    optimizer_for: OptimizerFor,
    *,
    may_measure: bool = True,
    tune: Tune | None = None,
    timer: StepTimer | None = None,
    note: Callable[[str], None] = lambda _: None,
) -> tuple[Runtime, Decision]:
    """`table` with precision and layout decided: forced, cached, measured or from the table.

    `tune`: measure whatever the run's length (as `hw3tui tune` and a sweep's probe do)."""
    settings = candidates(spec, table)
    default = Setting(table.precision, table.channels_last)
    if len(settings) == 1:
        return _with(table, Decision(settings[0], "forced"))
    key = probe_cache.question(
        table.device,
        threads=table.threads,
        backbone=workload.backbone,
        image_size=workload.image_size,
        batch_sizes=workload.batch_sizes,
        candidates=[s.label for s in settings],
    )
    cached = None if tune and not tune.reuse else _rates_from_json(probe_cache.read(key))
    if cached is not None and _covers(cached, settings, workload):
        rates = {s.label: cached[s.label] for s in settings}
        return _with(table, Decision(choose(settings, rates, workload), "cached", rates=rates))
    why = _why_not(workload, len(settings), may_measure=may_measure, tune=tune is not None)
    if why:
        return _with(table, Decision(default, "table", why))
    sizes = "/".join(map(str, workload.batch_sizes))
    note(
        f"timing {', '.join(s.label for s in settings)} on {workload.backbone} at "
        f"{workload.image_size} px, batch {sizes} (runtime auto; cached for later runs)"
    )
    started = time.perf_counter()
    seconds = measure(
        settings,
        module,
        workload,
        optimizer_for,
        table.device,
        timer=timer or _fake_timer_from_env() or _wall_timer(table.device),
        cap=tune.seconds if tune else MAX_SECONDS,
        max_steps=None if tune else int(FRACTION * workload.steps),
    )
    cost = time.perf_counter() - started
    if seconds is None:
        return _with(table, Decision(default, "table", "too slow to measure", seconds=cost))
    rates = {
        s.label: {size: size / min(seconds[(s, size)]) for size in workload.batch_sizes}
        for s in settings
    }
    decision = Decision(choose(settings, rates, workload), "measured", rates=rates, seconds=cost)
    probe_cache.write(key, decision.as_json()["rates"])
    return _with(table, decision)


def as_started(spec: RuntimeSpec, recorded: Any) -> RuntimeSpec:
    """`spec` with its `auto` precision and layout fixed to what a run's first `run_start`
    recorded: a resumed run must not measure again and perhaps choose otherwise (the rest of the
    run would then differ from the uninterrupted one)."""
    if not isinstance(recorded, dict) or "auto" not in recorded:
        return spec
    precision, layout = recorded.get("precision"), recorded.get("channels_last")
    update: dict[str, Any] = {}
    if spec.precision == "auto" and precision in ("fp32", "bf16", "fp16"):
        update["precision"] = precision
    if spec.channels_last == "auto" and isinstance(layout, bool):
        update["channels_last"] = layout
    return spec.model_copy(update=update)


def _why_not(workload: Workload, count: int, *, may_measure: bool, tune: bool) -> str:
    if not may_measure:
        return "not measured with several processes"
    if tune:
        return ""
    if not affords(workload.steps, count, len(workload.batch_sizes)):
        return f"run too short to measure ({workload.steps} steps)"
    return ""


def _with(table: Runtime, decision: Decision) -> tuple[Runtime, Decision]:
    setting = decision.setting
    runtime = replace(
        table,
        precision=setting.precision,
        channels_last=setting.channels_last,
        auto=decision.as_json(),
    )
    return runtime, decision


def _rates_from_json(raw: Any) -> dict[str, dict[int, float]] | None:
    if not isinstance(raw, dict):
        return None
    with contextlib.suppress(TypeError, ValueError, AttributeError):
        return {str(k): {int(s): float(r) for s, r in v.items()} for k, v in raw.items()}
    return None


def _covers(rates: dict[str, dict[int, float]], settings: list[Setting], work: Workload) -> bool:
    return all(
        all(rates.get(s.label, {}).get(size, 0.0) > 0 for size in work.batch_sizes)
        for s in settings
    )


def choose(
    settings: list[Setting], rates: dict[str, dict[int, float]], workload: Workload
) -> Setting:
    """The fastest over the run's batch sizes, or the simplest setting within `MARGIN` of it."""

    def seconds(setting: Setting) -> float:
        by_size = rates[setting.label]
        return sum(workload.images_at[size] / by_size[size] for size in by_size)

    fastest = min(seconds(s) for s in settings)
    close = [s for s in settings if seconds(s) <= fastest * (1 + MARGIN)]
    return min(close, key=lambda s: s.simplicity)


def measure(
    settings: list[Setting],
    module: nn.Module,
    workload: Workload,
    optimizer_for: OptimizerFor,
    device: torch.device,
    *,
    timer: StepTimer,
    cap: float,
    max_steps: int | None,
) -> dict[tuple[Setting, int], list[float]] | None:
    """Timed training steps of every setting at every batch size, interleaved: one warm-up step
    each, then whole rounds of one step each while the budget lasts (every setting gets as many
    steps as the others). None if not one round fits."""
    arms = [(s, size) for size in workload.batch_sizes for s in settings]
    rounds = MAX_ROUNDS if max_steps is None else min(MAX_ROUNDS, max_steps // len(arms) - 1)
    times: dict[tuple[Setting, int], list[float]] = {arm: [] for arm in arms}
    elapsed = last_round = 0.0
    with streams_untouched(device):
        rigs = {s: _Rig(s, module, optimizer_for, device) for s in settings}
        generator = torch.Generator().manual_seed(0)
        batches = {size: _batch(size, workload, generator) for size in workload.batch_sizes}
        for round_ in range(rounds + 1):  # round 0 warms up (first-step costs, weight casts)
            if round_ > 0 and elapsed + last_round > cap:
                break  # the warm-up round over-estimates the first timed one: on the safe side
            last_round = 0.0
            for setting, size in arms:
                step = functools.partial(rigs[setting].step, *batches[size])
                seconds = timer(setting, size, step)
                elapsed, last_round = elapsed + seconds, last_round + seconds
                if round_ == 0 and elapsed > cap:
                    return None  # the warm-up alone is over budget: a slow model, a busy machine
                if round_ > 0:
                    times[(setting, size)].append(seconds)
    return times if all(times.values()) else None


class _Rig:
    """One candidate's throwaway copy of the model, with its own optimizer and loss scaler."""

    def __init__(
        self,
        setting: Setting,
        module: nn.Module,
        optimizer_for: OptimizerFor,
        device: torch.device,
    ) -> None:
        self.setting, self.device = setting, device
        self.layout = torch.channels_last if setting.channels_last else torch.contiguous_format
        self.model = copy.deepcopy(module).to(device).to(memory_format=self.layout)
        self.optimizer = optimizer_for(self.model)
        self.scaler = torch.amp.GradScaler(device.type, enabled=setting.precision == "fp16")

    def step(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        inputs = images.to(self.device).contiguous(memory_format=self.layout)
        targets = labels.to(self.device)
        self.model.train()
        dtype = AMP_DTYPES.get(self.setting.precision)
        with torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None):
            loss = F.cross_entropy(self.model(inputs), targets)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
        self.scaler.step(self.optimizer)
        self.scaler.update()


def _batch(
    size: int, workload: Workload, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    pixels = workload.image_size
    images = torch.randn(size, 3, pixels, pixels, generator=generator)
    labels = torch.randint(0, workload.num_classes, (size,), generator=generator)
    return images, labels


def _wall_timer(device: torch.device) -> StepTimer:
    def timed(setting: Setting, size: int, step: Callable[[], None]) -> float:
        started = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # the step's kernels are queued, not done
        return time.perf_counter() - started

    return timed


def _fake_timer_from_env() -> StepTimer | None:
    text = os.environ.get(FAKE_STEPS_ENV, "").strip()
    if not text:
        return None
    seconds: dict[str, float] = {}
    for item in text.split(","):
        label, _, value = item.partition("=")
        with contextlib.suppress(ValueError):
            seconds[label.strip()] = float(value)

    def said(setting: Setting, size: int, step: Callable[[], None]) -> float:
        return seconds.get(setting.label, 0.02)

    return said


@contextlib.contextmanager
def streams_untouched(device: torch.device) -> Iterator[None]:
    """torch's CPU (and this CUDA device's) generator, NumPy's and Python's as they were."""
    python, numpy = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        try:
            yield
        finally:
            random.setstate(python)
            np.random.set_state(numpy)
