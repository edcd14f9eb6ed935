"""An ablation: a preset as is, and one variant per choice it makes, each turning that choice off.

`variants_of(preset)` is the plan (a pure function of the preset): every augmentation the preset
turns on (mixup and cutmix included), turned off; label smoothing and the weight average (ema)
off; every per-epoch schedule (lr, batch size, weight decay) replaced by its
epoch-0 value; momentum and nesterov off; a pretrained backbone trained from scratch; early
stopping off. Each variant differs from the preset in exactly one field, with one exception that
the preset rules force: momentum off also turns nesterov off (nesterov needs momentum).

An ablation is a sweep whose file lists these as `variants` (the first, the preset as is, with
no `set`); `write_ablation` turns its trials into ablation.csv and ablation.png after every trial.
"""

from __future__ import annotations

import contextlib
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hw3tui.errors import BadInput
from hw3tui.preset import LoadedPreset, Preset, PresetError, validate_text
from hw3tui.preset.diff import diff
from hw3tui.preset.schedule import PlateauForm, preview
from hw3tui.preset.yamlio import flow
from hw3tui.results.ablation import AblationRow, ablation_rows, write_ablation_csv
from hw3tui.runs import EventTail, RunDir, summarize
from hw3tui.runs.history import history_of
from hw3tui.sweeps.file import LoadedSweep, check_sweep_text, dump_sweep
from hw3tui.sweeps.folder import SweepDir

FULL = "full preset"
"""The name of the first variant: the preset as is (no `set`)."""


@dataclass(frozen=True)
class Variant:
    """One configuration of an ablation: the choice it turns off and the fields it sets."""

    name: str
    set: dict[str, Any]

    @property
    def field(self) -> str:
        """The field whose choice it turns off (its first `set` path; `` for the preset)."""
        return next(iter(self.set), "")

    def as_yaml(self) -> dict[str, Any]:
        return {"name": self.name, "set": dict(self.set)}


SCHEDULES = ("lr", "batch_size", "weight_decay")
AUGMENTS = ("horizontal_flip", "random_crop", "affine", "grayscale", "mixup", "cutmix")
SECTIONS_OFF = ("random_crop", "affine", "mixup", "cutmix")
"""Augmentations that are a section: off is null (the others are a probability: off is 0)."""


def variants_of(preset: Preset) -> list[Variant]:
    """The preset's choices, each turned off, in preset order (the preset itself not included)."""
    out: list[Variant] = []
    backbone, optimizer, schedule = preset.backbone, preset.optimizer, preset.schedule
    if backbone.pretrained is not False:
        scratch = {"backbone.pretrained": False}
        out.append(Variant("backbone.pretrained off (from scratch)", scratch))
    if optimizer.momentum:
        off: dict[str, Any] = {"optimizer.momentum": 0.0}
        if optimizer.nesterov:
            off["optimizer.nesterov"] = False  # nesterov needs momentum: both go
        out.append(Variant("optimizer.momentum off", off))
    if optimizer.nesterov:
        out.append(Variant("optimizer.nesterov off", {"optimizer.nesterov": False}))
    for name in AUGMENTS:
        value = getattr(preset.augment, name)
        if value:  # a probability above 0, or a section that is there
            off_value = None if name in SECTIONS_OFF else 0.0
            out.append(Variant(f"augment.{name} off", {f"augment.{name}": off_value}))
    if preset.loss.label_smoothing:
        out.append(Variant("loss.label_smoothing off", {"loss.label_smoothing": 0.0}))
    if preset.ema is not None:
        out.append(Variant("ema off", {"ema": None}))
    for name in SCHEDULES:
        spec = getattr(schedule, name)
        if isinstance(spec, int | float):
            continue
        values = preview(spec, schedule.epochs, integer=name == "batch_size")
        if len(set(values)) == 1 and not isinstance(spec, PlateauForm):
            continue  # a schedule that never changes: no choice to turn off
        first: Any = int(values[0]) if name == "batch_size" else values[0]
        out.append(Variant(f"schedule.{name} constant {flow(first)}", {f"schedule.{name}": first}))
    if schedule.early_stop is not None:
        out.append(Variant("schedule.early_stop off", {"schedule.early_stop": None}))
    return out


def plan(preset: Preset, skip: Sequence[str] = ()) -> list[Variant]:
    """The preset as is, then its variants but those turning off a field in `skip`."""
    return [Variant(FULL, {}), *(v for v in variants_of(preset) if v.field not in skip)]


def given_variant(override: str) -> Variant:
    """A `--variant path=value`: named by what it sets."""
    from hw3tui.preset.io import parse_override

    path, value = parse_override(override)
    dotted = ".".join(map(str, path))
    return Variant(f"{dotted}={flow(value)}", {dotted: value})


def ablation_sweep(
    preset: str,
    loaded: LoadedPreset,
    *,
    seeds: int,
    skip: Sequence[str] = (),
    extra: Sequence[str] = (),
    overrides: Sequence[str] = (),
) -> tuple[LoadedSweep, list[Variant]]:
    """`hw3tui ablate PRESET`'s sweep (`loaded`: PRESET with its `--set` `overrides`) and its
    configurations: the preset as is, its variants but those turning off a field in `skip`, then
    each `--variant` in `extra`; checked like any sweep file (every variant applied to the
    preset). `BadInput` names the first problem; the TUI checks its ablations by this too."""
    made = variants_of(loaded.preset)
    for field in skip:
        if field not in {v.field for v in made}:
            fields = ", ".join(v.field for v in made) or "none"
            raise BadInput(f"--skip {field}: no variant turns it off (the preset's: {fields})")
    variants = plan(loaded.preset, skip)
    for override in extra:
        variant = _checked_variant(loaded, override, [v.name for v in variants])
        if seeds > 1 and variant.field == "seed":
            raise BadInput(f"--variant {override}: -n {seeds} runs seeds seed..seed+{seeds - 1}")
        variants.append(variant)
    base = str(Path(preset).resolve()) if Path(preset).is_file() else preset
    document: dict[str, object] = {
        "name": f"{loaded.preset.name[:55]}-ablation",
        "base": base,
        "variants": [v.as_yaml() for v in variants],
    }
    if seeds > 1:
        document["repeat"] = seeds
    text = dump_sweep(document, comment=f"hw3tui ablate {Path(preset).name}")
    return check_sweep_text(text, "ablation", Path.cwd(), overrides), variants


def _checked_variant(loaded: LoadedPreset, override: str, taken: list[str]) -> Variant:
    """A --variant that gives a valid preset on top of PRESET and its --set; else `BadInput`."""
    try:
        variant = given_variant(override)
        varied = validate_text(loaded.text, loaded.source, [override]).preset
    except PresetError as exc:
        problem = exc.problems[0]
        detail = f"{problem.field}: {problem.message}" if problem.field else problem.message
        raise BadInput(f"--variant {override}: {detail}") from None
    if variant.name in taken:
        raise BadInput(f"--variant {override}: given twice")
    if not diff(loaded.preset, varied):
        raise BadInput(f"--variant {override}: the preset has this value already")
    return variant


# ---- from the sweep folder to ablation.csv ---------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    """A finished trial of an ablation: its variant, seed, best value and last epoch's value."""

    variant: str
    seed: int
    best: float | None
    last: float | None


def write_ablation(
    folder: SweepDir, trials: list[tuple[str, RunDir]], monitor: str, names: list[str]
) -> list[AblationRow]:
    """Rewrite ablation.csv and ablation.png from the trials' run folders (variant, run)."""
    from hw3tui.results.verdicts import higher_is_better

    seeded = [s for variant, run in trials if (s := _seeded(variant, run, monitor)) is not None]
    by_variant: dict[str, dict[int, float | None]] = defaultdict(dict)
    last: dict[int, float | None] = {}
    for s in seeded:
        by_variant[s.variant][s.seed] = s.best
        if s.variant == names[0]:
            last[s.seed] = s.last
    rows = ablation_rows(
        [(name, dict(by_variant.get(name, {}))) for name in names],
        last_epoch=last,
        higher_is_better=higher_is_better(monitor),
    )
    write_ablation_csv(folder.path / "ablation.csv", rows)
    with contextlib.suppress(OSError, ValueError):
        from hw3tui.results.figures_ablation import ablation_figure

        ablation_figure(rows, folder.path / "ablation.png", monitor=monitor)
    return rows


def _seeded(variant: str, run: RunDir, monitor: str) -> Seeded | None:
    """A done trial's values; None for one that has not finished (it counts once it has)."""
    summary = summarize(run)
    if summary is None or summary.state != "done":
        return None
    seed = _seed_of(run)
    if seed is None:
        return None
    best = summary.best["value"] if summary.best is not None else None
    history = history_of(EventTail(run.events_file).read())
    epochs = sorted(history.results)
    last = history.results[epochs[-1]].metric(monitor) if epochs else None
    return Seeded(variant, seed, _finite(best), _finite(last))


def _seed_of(run: RunDir) -> int | None:
    """The seed the run trained with: its frozen preset's `seed` (0 when left out)."""
    from hw3tui.preset import PresetError
    from hw3tui.preset.yamlio import MAX_BYTES, parse, to_plain
    from hw3tui.regular import read_text_regular

    try:
        text = read_text_regular(run.preset_file, limit=MAX_BYTES)
        plain = to_plain(parse(text, str(run.preset_file)).data)
    except (OSError, UnicodeDecodeError, PresetError):
        return None
    seed = plain.get("seed", 0) if isinstance(plain, Mapping) else None
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def _finite(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
