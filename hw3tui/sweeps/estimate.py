"""How long a plan of runs of one preset will take, told before it starts (torch-free).

From an earlier run of the same preset (by name, with the same data and backbone) in the runs
folder: its mean epoch time from its events, times the planned epochs. Otherwise from the `auto`
runtime probe's cached rates (images per second of this backbone at this image size, measured on
this machine by an earlier run; shapes data only, where the number of images is in the preset).
Else unknown. An estimate counts every epoch: early stopping and pruning only make it shorter.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hw3tui.humanize import format_duration
from hw3tui.preset import Preset
from hw3tui.runs import EventTail, RunDir, list_runs
from hw3tui.runs.history import history_of

PROBE_FOLDER = "runtime-probe"
"""The probe's cache folder under the user's cache dir (`hw3tui.engine.hardware.probe_cache`,
which imports torch: read here as plain JSON files)."""


RUNS_LOOKED_AT = 20
"""The newest runs of the preset whose presets are read (the TUI's dialog waits for this)."""


@dataclass(frozen=True)
class Estimate:
    """Seconds per run of the preset, and where the number comes from."""

    per_run: float
    source: str

    def text(self, runs: int) -> str:
        return f"about {format_duration(self.per_run * runs, spaced=True)} ({self.source})"


def estimate(preset: Preset, runs_dir: Path) -> Estimate | None:
    """Seconds one run of `preset` takes here, or None when nothing says."""
    return _from_runs(preset, runs_dir) or _from_probe(preset)


def plan_line(runs: int, found: Estimate | None) -> str:
    """`6 runs, about 4m 10s (from run quickstart-...)` or `6 runs, time unknown (...)`."""
    if found is None:
        return f"{runs} runs, estimated time unknown (no earlier run of this preset, no probe)"
    return f"{runs} runs, estimated time {found.text(runs)}"


def _from_runs(preset: Preset, runs_dir: Path) -> Estimate | None:
    same_name = [s for s in list_runs(runs_dir) if s.preset == preset.name and s.epochs_done >= 1]
    for summary in same_name[:RUNS_LOOKED_AT]:  # newest first
        if not _same_work(RunDir(summary.path), preset):
            continue  # other data or another model: its epochs say nothing of these
        history = history_of(EventTail(RunDir(summary.path).events_file).read())
        seconds = [
            s
            for r in history.results.values()
            if (s := r.seconds) is not None and math.isfinite(s) and s > 0
        ]
        if seconds:
            per_epoch = sum(seconds) / len(seconds)
            return Estimate(per_epoch * preset.schedule.epochs, f"epochs of run {summary.name}")
    return None


def _same_work(run: RunDir, preset: Preset) -> bool:
    """Whether the run trained on the same data with the same backbone (its frozen preset)."""
    from hw3tui.preset import PresetError, load_preset

    try:
        ran = load_preset(run.preset_file).preset
    except (OSError, UnicodeDecodeError, PresetError):
        return False
    return (ran.data, ran.backbone) == (preset.data, preset.backbone)


def _from_probe(preset: Preset) -> Estimate | None:
    if preset.data.source != "shapes":
        return None  # the number of images of a folder is not in the preset
    shapes = preset.data.shapes
    images = shapes.classes * (shapes.train_per_class + shapes.val_per_class)
    best = 0.0
    for key, rates in _probe_answers():
        if key.get("backbone") != preset.backbone.name:
            continue
        if key.get("image_size") != preset.data.image_size:
            continue
        for by_size in rates.values() if isinstance(rates, dict) else ():
            for rate in by_size.values() if isinstance(by_size, dict) else ():
                if isinstance(rate, int | float) and math.isfinite(rate) and rate > best:
                    best = float(rate)
    if best <= 0:
        return None
    return Estimate(images / best * preset.schedule.epochs, "cached runtime probe rates")


def _probe_answers() -> list[tuple[dict[str, Any], Any]]:
    from platformdirs import user_cache_dir

    folder = Path(user_cache_dir("hw3tui")) / PROBE_FOLDER
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            saved = json.loads(path.read_text(encoding="utf-8")[: 1 << 20])
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        if isinstance(saved, dict) and isinstance(saved.get("key"), dict):
            found.append((saved["key"], saved.get("rates")))
    return found
