"""One runtime measurement per sweep, before its first trial.

A trial of a sweep is usually too short for `runtime: auto` to measure (a run may spend 5 % of its
steps on it), so each would take the table. Instead the worker that sets the sweep up runs
`hw3tui tune PRESET --as-run` once per distinct workload its trials train (backbone, image size,
batch sizes: a queue's presets, an axis's values), which measures on the same code and into the
same cache as a run's own probe; every trial then finds the answer there ("cached" in its
run_start). Other workers wait for it (the folder's first-worker lock) and read the cache; a worker
on another machine, with another cache, measures its own. The workloads with the most trials go
first, within `BUDGET_SECONDS` in all; trials of the rest decide for themselves as any run does.

The run's own rule (`hw3tui.probe_budget`) holds over a workload's trials together: one is
measured only when 5 % of the training steps all its planned trials take covers the measurement
(a few 2-epoch trials on `shapes` data do not: the child's 4-15 s would buy nothing, and its
answer under load would pick their precision by noise). The steps are known only where the preset
gives the number of images (`shapes`); elsewhere the sweep measures.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hw3tui.preset import PresetError
from hw3tui.preset.io import field_path, load_preset
from hw3tui.preset.models import Preset
from hw3tui.preset.schedule import planned_batch_sizes, planned_steps
from hw3tui.probe_budget import FRACTION, MAX_CANDIDATES, affords
from hw3tui.runs import hw3tui_command
from hw3tui.sweeps.file import LoadedSweep
from hw3tui.sweeps.model import values_of
from hw3tui.sweeps.study import grid_trials

BUDGET_SECONDS = 120.0
"""The most a sweep spends measuring, all workloads together (each child's start included)."""
WORKLOAD_SECONDS = 30.0
"""The most one workload's timed steps may take (`hw3tui tune --seconds`)."""
POLL_S = 0.25
WORKLOAD_FIELDS = (("backbone",), ("data",), ("runtime",), ("schedule", "batch_size"))
"""Preset fields that change what the probe measures or how its answer is cached (an axis over
anything else, such as `schedule.lr`, trains the same workload)."""
STEP_FIELDS = (("data",), ("schedule", "batch_size"), ("schedule", "epochs"))
"""Preset fields that change how many training steps a trial takes."""
KEPT_FIELDS = (*WORKLOAD_FIELDS, ("schedule", "epochs"))
"""What a trial's configuration keeps of its values: its workload and its steps."""

Say = Callable[[str], None]


@dataclass(frozen=True)
class Target:
    """One workload the sweep's trials train, and a trial configuration that trains it."""

    start: str
    overrides: tuple[str, ...]
    backbone: str
    image_size: int
    batch_sizes: tuple[int, ...]
    trials: int = 1
    steps: int | None = None
    """Training steps of all its planned trials together (each seed of `repeat`); None when
    unknown (images read from files, a range axis over the epochs)."""

    def describe(self) -> str:
        sizes = "/".join(map(str, self.batch_sizes))
        return f"{self.backbone} at {self.image_size} px, batch {sizes}"


def targets(loaded: LoadedSweep) -> list[Target]:
    """The workloads to measure, those with the most trials first: only where the trial's
    runtime leaves precision or layout at `auto` on one process."""
    configs = Counter(_workload_configs(loaded))
    runs = _runs_per_config(loaded, configs.total())
    drawn = _steps_drawn(loaded)
    found: dict[tuple[Any, ...], Target] = {}
    for (start, overrides), count in configs.most_common():
        try:
            preset = load_preset(start, overrides).preset
        except (PresetError, OSError):
            continue  # checked when the sweep was loaded; its trial reports it
        runtime = preset.runtime
        if "auto" not in (runtime.precision, runtime.channels_last) or runtime.gpus > 1:
            continue
        sizes = tuple(sorted(set(planned_batch_sizes(preset.schedule))))
        work = (preset.backbone.name, preset.data.image_size, sizes)
        # the data and runtime sections decide the thread count, part of the cache's question
        key = (*work, runtime.model_dump_json(), preset.data.model_dump_json())
        steps = None if drawn else _steps(preset, count * runs)
        old = found.get(key)
        if old is not None:
            total = None if old.steps is None or steps is None else old.steps + steps
            found[key] = Target(
                old.start, old.overrides, *work, trials=old.trials + count, steps=total
            )
        else:
            found[key] = Target(start, overrides, *work, trials=count, steps=steps)
    return sorted(found.values(), key=lambda t: -t.trials)


def too_few_steps(target: Target) -> bool:
    """Whether `target`'s trials train too few steps in all to spend the probe's share of them
    on measuring (the run's own rule; unknown steps: measure, as a sweep always did). The
    candidates a machine offers are not known here (the CPU decides, in the engine): counted
    as the most there can be."""
    if target.steps is None:
        return False
    return not affords(target.steps, MAX_CANDIDATES, len(target.batch_sizes))


def _steps(preset: Preset, runs: float) -> int | None:
    """Training steps of `runs` trials of `preset`; None where the preset does not say how many
    images it trains on."""
    images = preset.data.train_images
    if images is None:
        return None
    return round(planned_steps(preset.schedule, images) * runs)


def _runs_per_config(loaded: LoadedSweep, configs: int) -> float:
    """Runs each of the `configs` planned trial configurations stands for: its seeds (a grid
    lists every trial); a random or tpe sweep's planned trials spread over its listed values."""
    repeat = loaded.sweep.repeat
    if loaded.sweep.method == "grid" or configs == 0:
        return float(repeat)
    return loaded.sweep.planned() * repeat / configs


def _steps_drawn(loaded: LoadedSweep) -> bool:
    """Whether a range axis draws a field that sets the steps (epochs, batch size, data): their
    number is not known before the draw."""
    return any(
        values_of(axis) is None and _touches(path, STEP_FIELDS)
        for path, axis in loaded.sweep.axes.items()
    )


def _workload_configs(loaded: LoadedSweep) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Each planned trial as its start and the overrides that touch its workload or its steps (a
    grid's every trial; a random or tpe sweep's every combination of its listed values)."""
    for start, params in _trials(loaded):
        kept = {path: value for path, value in params.items() if _touches(path, KEPT_FIELDS)}
        yield start, tuple(loaded.overrides(kept))


def _trials(loaded: LoadedSweep) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if loaded.sweep.method == "grid":
        yield from grid_trials(loaded)
        return
    # drawn values: a listed axis's each value; a range's values are not known before the draw
    listed = [
        (path, values)
        for path, axis in loaded.sweep.axes.items()
        if _touches(path, KEPT_FIELDS) and (values := values_of(axis)) is not None
    ]
    variants = [dict(v.set) for v in loaded.sweep.variants] or [{}]
    for start, variant in itertools.product(loaded.starts, variants):
        for picks in itertools.product(*(values for _, values in listed)):
            yield start, {**variant, **dict(zip((p for p, _ in listed), picks, strict=True))}


def _touches(path: str, fields: tuple[tuple[str, ...], ...]) -> bool:
    parts = field_path(path)
    return any(parts[: len(f)] == f for f in fields)


def probe_runtime(
    loaded: LoadedSweep, env: Mapping[str, str], say: Say, stop: Callable[[], bool]
) -> None:
    """Measure (or find cached) each target's runtime, one `hw3tui tune --as-run` child each, in
    `env` (the first slot's: its GPU); one line each on what was chosen."""
    started = time.monotonic()
    todo = []
    for target in targets(loaded):
        if too_few_steps(target):
            say(
                f"runtime probe: {target.describe()}: not measured ({target.steps} training "
                f"steps in all, too few to spend {FRACTION * 100:g} % on measuring); each trial "
                "decides for itself"
            )
        else:
            todo.append(target)
    for i, target in enumerate(todo):
        left = BUDGET_SECONDS - (time.monotonic() - started)
        if left < 1:
            rest = ", ".join(t.describe() for t in todo[i:])
            say(f"runtime probe: {BUDGET_SECONDS:.0f} s spent; not measured here: {rest}")
            return
        if stop():
            return
        chosen = _tune(target, env, min(left, WORKLOAD_SECONDS), stop)
        say(f"runtime probe: {target.describe()}: {chosen}")


def _tune(target: Target, env: Mapping[str, str], seconds: float, stop: Callable[[], bool]) -> str:
    """What the trials of `target` will use, as a line's end."""
    args = [*hw3tui_command(), "tune", target.start, "--as-run", "--json"]
    args += ["--seconds", f"{max(seconds, 1.0):.0f}"]
    args += [a for override in target.overrides for a in ("--set", override)]
    try:
        child = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
        )
    except OSError as exc:
        return f"not measured ({exc.strerror or exc}); each trial decides for itself"
    out, err = _wait(child, stop)
    if child.returncode != 0:
        last = next((line for line in reversed(err.splitlines()) if line.strip()), "")
        return (
            f"not measured (tune exited {child.returncode}: {last}); each trial decides for itself"
        )
    return _chosen(out)


def _wait(child: subprocess.Popen[bytes], stop: Callable[[], bool]) -> tuple[str, str]:
    """The child's output once it ends; Ctrl-C of the sweep cancels it (it measures on copies:
    nothing is lost)."""
    while True:
        try:
            out, err = child.communicate(timeout=POLL_S)
            return out.decode(errors="replace"), err.decode(errors="replace")
        except subprocess.TimeoutExpired:
            if stop():
                with contextlib.suppress(OSError):
                    child.send_signal(signal.SIGINT)


def _chosen(output: str) -> str:
    try:
        record = json.loads(output.strip().splitlines()[-1])
        runtime = record["runtime"]
        auto = runtime.get("auto") or {}
        setting = (
            f"{runtime['precision']} {'channels_last' if runtime['channels_last'] else 'NCHW'}"
        )
    except (ValueError, IndexError, KeyError, TypeError, AttributeError):
        return "not measured (tune printed no answer); each trial decides for itself"
    how = auto.get("how")
    if how == "measured":
        gain = _gain(auto.get("rates"), setting)
        return f"{setting} (measured in {auto.get('probe_seconds')} s{gain}; trials read the cache)"
    if how == "cached":
        return f"{setting} (cached{_gain(auto.get('rates'), setting)})"
    return f"{setting} (not measured: {auto.get('why') or how}); each trial decides for itself"


def _gain(rates: Any, setting: str, reference: str = "fp32 NCHW") -> str:
    """`, 1.52x fp32 NCHW`: the chosen setting's speed against plain fp32 (its first batch size)."""
    with contextlib.suppress(TypeError, KeyError, ValueError, ZeroDivisionError, AttributeError):
        mine, plain = rates[setting], rates[reference]
        size = sorted(mine, key=int)[0]
        ratio = float(mine[size]) / float(plain[size])
        if setting != reference and ratio == ratio and ratio < 1e6:  # NaN from a hand-made file
            return f", {ratio:.2f}x {reference}"
    return ""
