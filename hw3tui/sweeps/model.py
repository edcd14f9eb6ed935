"""The sweep file: which preset, which fields vary and how, how trials are picked and stopped.

Validated like a preset (every key typed, documented, unknown keys refused); the docstrings are
the README's sweep file reference (`hw3tui.sweeps.reference`). No Optuna here: the file is checked
before anything is imported or started.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from difflib import get_close_matches
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from hw3tui.preset.io import field_path
from hw3tui.preset.models import Real, Section, Whole, located

MAX_TRIALS = 100_000
"""The most trials a sweep may plan: `trials`' cap, and the cap on a grid's runs (the product of
its axes' lengths, times the presets of a queue, times `repeat`), so that a typo such as four axes
of 32 values is refused at once rather than enqueued for minutes."""

MAX_REPEAT = 100
"""The most seeds a configuration may run (`repeat`)."""

SEED_PATH = ("seed",)
"""The preset field `repeat` varies: no axis or `set` entry may touch it when repeat > 1."""

RANGES = ("uniform", "loguniform", "int", "choice")
"""The named axis forms, written as a one-key mapping: `{loguniform: [1.0e-4, 1.0e-2]}`."""


class Uniform(Section):
    uniform: tuple[Real, Real]
    """`[low, high]`: any number in between, evenly likely (random, tpe)."""

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.uniform[0] >= self.uniform[1]:
            raise located("low must be below high", ("uniform",))
        return self


class LogUniform(Section):
    loguniform: tuple[Annotated[Real, Field(gt=0.0)], Annotated[Real, Field(gt=0.0)]]
    """`[low, high]`, both above 0: evenly likely on a log scale (learning rates; random, tpe)."""

    @model_validator(mode="after")
    def _ordered(self) -> LogUniform:
        if self.loguniform[0] >= self.loguniform[1]:
            raise located("low must be below high", ("loguniform",))
        return self


class IntRange(Section):
    int_: tuple[Whole, Whole] = Field(alias="int")
    """`[low, high]`: a whole number from low to high, both included (random, tpe)."""

    @model_validator(mode="after")
    def _ordered(self) -> IntRange:
        if self.int_[0] >= self.int_[1]:
            raise located("low must be below high", ("int",))
        return self


class Choice(Section):
    choice: Annotated[list[Any], Field(min_length=1)]
    """One of these values (the same as a plain list)."""


def _axis_form(value: Any) -> str | None:
    if isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in RANGES:
        return str(next(iter(value)))
    for form, model in (
        ("uniform", Uniform),
        ("loguniform", LogUniform),
        ("int", IntRange),
        ("choice", Choice),
    ):
        if isinstance(value, model):
            return form
    return "values" if isinstance(value, list) else None


AXIS_FORM_MESSAGE = (
    "expected a list of values, or one of {uniform: [low, high]}, {loguniform: [low, high]}, "
    "{int: [low, high]}, {choice: [...]}"
)

Axis = Annotated[
    Annotated[Annotated[list[Any], Field(min_length=1)], Tag("values")]
    | Annotated[Uniform, Tag("uniform")]
    | Annotated[LogUniform, Tag("loguniform")]
    | Annotated[IntRange, Tag("int")]
    | Annotated[Choice, Tag("choice")],
    Discriminator(
        _axis_form, custom_error_type="hw3tui_axis_form", custom_error_message=AXIS_FORM_MESSAGE
    ),
]


def values_of(axis: Any) -> list[Any] | None:
    """The values of a list or `choice` axis; None for a range."""
    if isinstance(axis, list):
        return axis
    if isinstance(axis, Choice):
        return axis.choice
    return None


class Median(Section):
    """Stop a trial whose best value so far is worse than the median of earlier trials at the
    same epoch (Optuna's MedianPruner)."""

    after_epochs: Annotated[Whole, Field(ge=0, le=10_000)] = 1
    """Epochs every trial trains before it can be stopped (a warning when no trial trains longer:
    nothing would be pruned)."""
    after_trials: Annotated[Whole, Field(ge=0, le=10_000)] = 1
    """Finished trials needed before any trial is stopped."""


class Halving(Section):
    """Successive halving: at epochs min_epochs·factor^k keep only the best 1/factor of trials
    (Optuna's SuccessiveHalvingPruner)."""

    min_epochs: Annotated[Whole, Field(ge=1, le=10_000)] = 1
    """Epochs every trial trains before the first cut (a warning when no trial trains longer)."""
    factor: Annotated[Whole, Field(ge=2, le=100)] = 3
    """Keep the best 1/factor of the trials at each cut."""


class MedianPrune(Section):
    median: Median = Median()
    """Median pruning (keys: after_epochs, after_trials)."""


class HalvingPrune(Section):
    halving: Halving = Halving()
    """Successive halving (keys: min_epochs, factor)."""


def _prune_form(value: Any) -> str:
    if value is None or value == "none":
        return "none"
    if isinstance(value, Mapping) and len(value) == 1:
        return str(next(iter(value)))
    if isinstance(value, MedianPrune | HalvingPrune):
        return "median" if isinstance(value, MedianPrune) else "halving"
    return "bad"


Prune = Annotated[
    Annotated[MedianPrune, Tag("median")]
    | Annotated[HalvingPrune, Tag("halving")]
    | Annotated[Literal["none"] | None, Tag("none")],
    Discriminator(
        _prune_form,
        custom_error_type="hw3tui_prune_form",
        custom_error_message="expected {median: {...}}, {halving: {...}} or none",
    ),
]


def dotted_paths(value: dict[str, Any]) -> dict[str, Any]:
    """`value` if each key is a dotted preset path, each field once."""
    seen: dict[tuple[str | int, ...], str] = {}
    for key in value:
        if not key or any(not part.strip() for part in str(key).split(".")):
            raise located("expected a dotted preset path such as schedule.lr", (key,))
        # `schedule.lr` and `schedule . lr` set the same field (as --set reads them): two
        # would make a trial's value depend on their order and double the leaderboard column
        first = seen.setdefault(field_path(key), key)
        if first != key:
            raise located(f"the same field as `{first}`; give each field once", (key,))
    return value


class Variant(Section):
    """One configuration of an ablation: the base preset with a few fields set."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    """What the variant changes, e.g. `augment.horizontal_flip off` (its leaderboard value)."""
    set: dict[str, Any] = Field(default_factory=dict)
    """`{dotted.path: value}` on top of the sweep's own `set`; empty for the preset as is."""

    @field_validator("set")
    @classmethod
    def _dotted_paths(cls, value: dict[str, Any]) -> dict[str, Any]:
        return dotted_paths(value)


class Sweep(Section):
    """A sweep: trials of one preset with some fields varied, or a queue of presets."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=64)] = "sweep"
    """Name of the sweep; its folder is sweeps/<name>-<date>-<time>."""
    base: str | None = None
    """The preset every trial starts from: a file (relative to this sweep file) or a built-in
    preset's name."""
    presets: list[str] = Field(default_factory=list)
    """A queue instead of `base`: these presets, one trial each, in order (axes, if any, vary
    each of them)."""
    set: dict[str, Any] = Field(default_factory=dict)
    """Fixed overrides for every trial, `{dotted.path: value}`: the same paths and checks as
    `hw3tui run --set`."""
    axes: dict[str, Axis] = Field(default_factory=dict)
    """What varies, `{dotted.path: values}`: a list (grid values / choices), or `{uniform: [low,
    high]}`, `{loguniform: [low, high]}`, `{int: [low, high]}`, `{choice: [...]}`. Every value is
    checked against the preset before any trial starts; each field once (`schedule . lr` is
    `schedule.lr`)."""
    variants: list[Variant] = Field(default_factory=list)
    """An ablation's configurations (`hw3tui ablate` writes them): `[{name, set: {path: value}}]`,
    one trial each, like a grid over one more axis, `variant`; the first is the reference (the
    preset as is, no `set`), and ablation.csv compares every other with it. Names are unique."""
    method: Literal["grid", "random", "tpe"] = "grid"
    """`grid`: every combination of the axes' values (at most 100,000: the product of the lists'
    lengths, times the presets of a queue); `random`: values drawn at random; `tpe`: Optuna's TPE
    sampler (learns from finished trials which values do well)."""
    trials: Annotated[Whole, Field(ge=1, le=MAX_TRIALS)] | None = None
    """random and tpe: how many trials (default 10, at most 100,000); grid: an optional cap on
    the combinations (the first N, in order)."""
    seed: Annotated[Whole, Field(ge=0, le=2**32 - 1)] = 0
    """Seed of the sampler (the trials keep their preset's own `seed`)."""
    repeat: Annotated[Whole, Field(ge=1, le=MAX_REPEAT)] = 1
    """Runs per configuration (a grid point, a queued preset, a random or tpe draw), 1 to 100:
    run k of N has `seed` = the preset's seed + k (k = 0..N-1), each an ordinary run folder
    `runs/trial-NNN-sK`. configs.csv then gives each configuration's mean, std and verdict
    against the best one; random and tpe learn from the mean, and pruning stops a whole
    configuration. An axis or `set` entry on `seed` is refused with repeat above 1."""
    prune: Prune = None
    """Stop hopeless trials early: `{median: {after_epochs: 3}}`, `{halving: {min_epochs: 2,
    factor: 3}}`, or none. A stopped trial is cancelled like Ctrl-C: its run folder stays valid,
    its state is `pruned`."""
    storage: str | None = None
    """Optuna storage URL shared by workers on several machines (`postgresql://user@host/db`,
    `sqlite:///path.db`); default: a journal file in the sweep folder. Checked before the sweep
    folder is made (a bad URL: one line, exit 2, nothing created); frozen without its password
    (workers read it from PGPASSWORD or ~/.pgpass), a relative sqlite path made absolute (against
    the sweep file's folder; `--storage`: the working directory)."""
    study: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    """The study's name in the storage, unique to this sweep: frozen as `<folder name>-<8 random
    hex>` unless given. A new sweep whose study exists already is refused, and so is a `sweep
    resume` of a folder whose study another sweep made (a copy of its sweep.yaml joins it)."""
    runs: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    """Where the trials' run folders go (default: `runs` inside the sweep folder); made
    absolute (relative to this sweep file; `--runs DIR`: to the working directory) when the
    sweep starts. The one folder that workers on
    several machines must share: each machine's sweep folder holds only its own copy of
    sweep.yaml and its leaderboard. A new sweep refuses a folder that already holds runs."""
    parallel: Literal["auto"] | Annotated[Whole, Field(ge=1, le=1024)] = "auto"
    """Trials at once on this machine: `auto` is one per GPU (each pinned to its GPU with
    CUDA_VISIBLE_DEVICES), 1 without a GPU."""

    @field_validator("axes", mode="before")
    @classmethod
    def _known_forms(cls, axes: Any) -> Any:
        for path, axis in axes.items() if isinstance(axes, Mapping) else ():
            if isinstance(axis, Mapping) and len(axis) == 1 and next(iter(axis)) not in RANGES:
                form = str(next(iter(axis)))
                hint = get_close_matches(form, RANGES, n=1, cutoff=0.6)
                message = f"unknown axis form '{form}'"
                message += f"; did you mean '{hint[0]}'?" if hint else f" ({AXIS_FORM_MESSAGE})"
                raise located(message, (path, form))
        return axes

    @field_validator("set", "axes")
    @classmethod
    def _dotted_paths(cls, value: dict[str, Any]) -> dict[str, Any]:
        return dotted_paths(value)

    @field_validator("runs")
    @classmethod
    def _a_path(cls, value: str | None) -> str | None:
        if value is not None and ("\0" in value or not value.strip()):
            raise ValueError("expected a folder path")
        return value

    @field_validator("variants")
    @classmethod
    def _distinct(cls, variants: list[Variant]) -> list[Variant]:
        seen: set[str] = set()
        for i, variant in enumerate(variants):
            if variant.name in seen:
                raise located(f"a second variant named {variant.name!r}", (i, "name"))
            seen.add(variant.name)
        return variants

    @model_validator(mode="after")
    def _whole(self) -> Sweep:
        if self.base is None and not self.presets:
            raise located("missing: give `base` (a preset) or `presets` (a queue)", ())
        if self.base is not None and self.presets:
            raise located("give either `base` or `presets`, not both", ("presets",))
        if self.method == "grid":
            for path, axis in self.axes.items():
                if values_of(axis) is None:
                    raise located(
                        "a grid needs a list of values; ranges are for method random or tpe",
                        ("axes", path),
                    )
            if (size := self.grid_size() or 0) > MAX_TRIALS:
                sizes = " × ".join(str(n) for n in self._grid_sizes())
                runs = f" × {self.repeat} repeats" if self.repeat > 1 else ""
                raise located(
                    f"a grid of {size:,} trials ({sizes}{runs}) is over the limit of "
                    f"{MAX_TRIALS:,}; use fewer values, or method: random with trials: N to "
                    "sample it",
                    ("axes",) if self.axes else ("presets",),
                )
        if self.repeat > 1:
            for key in ("axes", "set"):
                for path in getattr(self, key):
                    if field_path(path) == SEED_PATH:
                        raise located(
                            f"`repeat: {self.repeat}` runs seeds seed..seed+{self.repeat - 1} "
                            f"itself; drop this {'axis' if key == 'axes' else 'entry'} on seed "
                            "or use repeat: 1",
                            (key, path),
                        )
            for i, variant in enumerate(self.variants):
                for path in variant.set:
                    if field_path(path) == SEED_PATH:
                        raise located(
                            f"`repeat: {self.repeat}` runs seeds seed..seed+{self.repeat - 1} "
                            "itself; a variant cannot set seed",
                            ("variants", i, "set", path),
                        )
        return self

    @property
    def sources(self) -> list[str]:
        """The presets trials start from (one for a sweep, several for a queue)."""
        return [self.base] if self.base is not None else list(self.presets)

    def _grid_sizes(self) -> list[int]:
        """How many values each of a grid's axes has (a queue's presets first)."""
        presets = [len(self.presets)] if self.presets else []
        variants = [len(self.variants)] if self.variants else []
        return presets + variants + [len(values_of(axis) or ()) for axis in self.axes.values()]

    def grid_size(self) -> int | None:
        """How many runs a grid has (None for random and tpe): a product of lengths, times
        `repeat`, never of the values themselves."""
        if self.method != "grid":
            return None
        return math.prod(self._grid_sizes()) * self.repeat

    def planned(self) -> int:
        """How many trials (configurations) the sweep runs; each runs `repeat` seeds."""
        if self.method == "grid":
            grid = math.prod(self._grid_sizes())
            return min(grid, self.trials) if self.trials is not None else grid
        return self.trials if self.trials is not None else 10

    def planned_runs(self) -> int:
        """How many run folders the sweep makes: its trials times `repeat`."""
        return self.planned() * self.repeat
