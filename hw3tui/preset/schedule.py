"""Per-epoch schedules: one mechanism for learning rate, batch size and weight decay.

A schedule is written in one of six forms (see the README's preset reference):

    lr: 0.01                                   constant
    lr: {0: 0.01, 15: 0.001, 30: 0.0001}       piecewise constant, by epoch
    lr: [0.01, 0.01, 0.005]                    one value per epoch
    lr: {linear: {start: 0.01, end: 0.0001}}   straight line over the run
    lr: {cosine: {start: 0.01, end: 0.0001}}   half cosine over the run
    lr: {plateau: {start: 0.01, factor: 0.1, patience: 3, min: 0.00001}}
                                               multiplied by `factor` when val accuracy stalls

Every form except `plateau` is a pure function of the epoch (`value_at`); `plateau` keeps a small
explicit state (`PlateauState`) that `observe` advances once per epoch, so it can be saved and
resumed as JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, create_model, model_validator

if TYPE_CHECKING:  # models.py builds on this module
    from hw3tui.preset.models import Schedule

FORMS = ("linear", "cosine", "plateau")
"""The named schedule forms, written as a one-key mapping: `{linear: {...}}`."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)


class Ramp(_Strict):
    start: float
    """Value at the first epoch."""
    end: float
    """Value at the last epoch."""


class LinearForm(_Strict):
    linear: Ramp
    """Moves in a straight line from `start` (first epoch) to `end` (last epoch)."""


class CosineForm(_Strict):
    cosine: Ramp
    """Follows half a cosine from `start` (first epoch) to `end` (last epoch)."""


class Plateau(_Strict):
    start: float
    """Value until validation accuracy stops improving."""
    factor: Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]
    """Multiplier applied after `patience` epochs without a new best validation accuracy
    (below 1 lowers the value, above 1 raises it, e.g. 2 doubles a batch size)."""
    patience: Annotated[int, Field(strict=True, ge=1, le=1000)] = 3
    """Epochs without improvement before the value changes."""
    min: float | None = None
    """Lower bound for the value (optional)."""
    max: float | None = None
    """Upper bound for the value (optional)."""

    @model_validator(mode="after")
    def _factor_moves(self) -> Plateau:
        if self.factor == 1:
            raise ValueError("plateau factor 1 would never change the value")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"plateau min {self.min} is above max {self.max}")
        return self


class PlateauForm(_Strict):
    plateau: Plateau
    """Changes by `factor` whenever validation accuracy has not improved for `patience` epochs."""


def _with_values(base: type[_Strict], name: str, **fields: Any) -> Any:
    """`base` with some fields retyped (keeping their docstrings), named `name` in the schema."""
    retyped = {
        field: (
            kind,
            Field(
                default=base.model_fields[field].default,
                description=base.model_fields[field].description,
            ),
        )
        for field, kind in fields.items()
    }
    return create_model(name, __base__=base, __module__=__name__, **retyped)  # type: ignore[call-overload]


def _form_of(value: Any) -> str | None:
    """Pick the schedule form from the raw value, so errors speak about the form the user meant."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Mapping):
        keys = list(value)
        if len(keys) == 1 and keys[0] in FORMS:
            return str(keys[0])
        if all(_is_epoch_key(k) for k in keys):
            return "by_epoch"
        return None
    if isinstance(value, LinearForm):
        return "linear"
    if isinstance(value, CosineForm):
        return "cosine"
    if isinstance(value, PlateauForm):
        return "plateau"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "per_epoch"
    return "constant"


def _is_epoch_key(key: Any) -> bool:
    if isinstance(key, bool):
        return False
    if isinstance(key, int):
        return True
    return isinstance(key, str) and key.strip().lstrip("-").isdigit()


SCHEDULE_FORM_ERROR = "schedule_form"
SCHEDULE_FORM_MESSAGE = (
    "expected a number, a list with one value per epoch, {epoch: value}, "
    "or one of {linear: ...}, {cosine: ...}, {plateau: ...}"
)


def schedule_of(value: Any, name: str) -> Any:
    """The union of all schedule forms for values of type `value`; `name` prefixes its models."""
    ramp = _with_values(Ramp, f"{name}Ramp", start=value, end=value)
    plateau = _with_values(
        Plateau, f"{name}Plateau", start=value, min=value | None, max=value | None
    )
    return Annotated[
        Annotated[value, Tag("constant")]
        | Annotated[dict[Annotated[int, Field(strict=True, ge=0)], value], Tag("by_epoch")]
        | Annotated[list[value], Tag("per_epoch")]
        | Annotated[_with_values(LinearForm, f"{name}Linear", linear=ramp), Tag("linear")]
        | Annotated[_with_values(CosineForm, f"{name}Cosine", cosine=ramp), Tag("cosine")]
        | Annotated[
            _with_values(PlateauForm, f"{name}PlateauForm", plateau=plateau), Tag("plateau")
        ],
        Discriminator(
            _form_of,
            custom_error_type=SCHEDULE_FORM_ERROR,
            custom_error_message=SCHEDULE_FORM_MESSAGE,
        ),
    ]


ScheduleSpec = float | Mapping[int, float] | Sequence[float] | LinearForm | CosineForm | PlateauForm
"""A validated schedule of any form: what `schedule_of` gives (batch-size schedules hold ints,
hence the read-only `Mapping` and `Sequence`, which accept them)."""


def check_epochs(spec: Any, epochs: int) -> str | None:
    """Why `spec` does not fit a run of `epochs` epochs, or None when it does."""
    if isinstance(spec, dict):
        if 0 not in spec:
            return f"an {{epoch: value}} schedule must give epoch 0 (it starts at {min(spec)})"
        late = sorted(k for k in spec if k >= epochs)
        if late:
            return (
                f"epoch {late[0]} is past the last epoch {epochs - 1} "
                f"(schedule.epochs is {epochs}; epochs count from 0)"
            )
    if isinstance(spec, list) and len(spec) != epochs:
        return (
            f"the list gives {len(spec)} values but schedule.epochs is {epochs}: give one per epoch"
        )
    return None


def offending_key(spec: Any, epochs: int) -> int | None:
    """The first `{epoch: value}` key outside 0..epochs-1, to point the error at its line."""
    if isinstance(spec, dict):
        late = sorted(int(k) for k in spec if k >= epochs)
        if late:
            return late[0]
    return None


def value_at(spec: ScheduleSpec, epoch: int, epochs: int) -> float:
    """The scheduled value at `epoch` (0-based) of a run of `epochs` epochs.

    A plateau schedule gives its start value here; `Scheduler` applies its reductions.
    """
    if isinstance(spec, bool):
        raise TypeError("a schedule value cannot be a bool")
    if isinstance(spec, int | float):
        return float(spec)
    if isinstance(spec, dict):
        at = max(k for k in spec if k <= epoch) if any(k <= epoch for k in spec) else min(spec)
        return float(spec[at])
    if isinstance(spec, list):
        return float(spec[min(epoch, len(spec) - 1)])
    progress = epoch / (epochs - 1) if epochs > 1 else 0.0
    if isinstance(spec, LinearForm):
        ramp = spec.linear
        return float(ramp.start + (ramp.end - ramp.start) * progress)
    if isinstance(spec, CosineForm):
        ramp = spec.cosine
        return float(ramp.end + (ramp.start - ramp.end) * (1 + math.cos(math.pi * progress)) / 2)
    if isinstance(spec, PlateauForm):
        return float(spec.plateau.start)
    raise TypeError(f"not a schedule: {spec!r}")


def preview(spec: ScheduleSpec, epochs: int, *, integer: bool = False) -> list[float]:
    """Every epoch's value, for plots and tables (a plateau shows its start value)."""
    return [_cast(value_at(spec, e, epochs), integer) for e in range(epochs)]


def _cast(value: float, integer: bool) -> float:
    return float(max(1, round(value))) if integer else value


@dataclass
class PlateauState:
    """What a plateau schedule remembers between epochs (JSON-serialisable for resume)."""

    value: float
    best: float | None = None
    bad_epochs: int = 0


def plateau_step(plateau: Plateau, state: PlateauState, metric: float) -> PlateauState:
    """The plateau state after an epoch that ended with `metric` (higher is better)."""
    if state.best is None or metric > state.best:
        return PlateauState(value=state.value, best=metric, bad_epochs=0)
    bad = state.bad_epochs + 1
    if bad < plateau.patience:
        return PlateauState(value=state.value, best=state.best, bad_epochs=bad)
    value = state.value * plateau.factor
    if plateau.min is not None:
        value = max(value, float(plateau.min))
    if plateau.max is not None:
        value = min(value, float(plateau.max))
    return PlateauState(value=value, best=state.best, bad_epochs=0)


class Scheduler:
    """One scheduled quantity of a run: `at(epoch)` gives its value, `observe` feeds val accuracy.

    The same class drives lr, weight decay and batch size (`integer=True` rounds to a positive int).
    """

    def __init__(self, spec: ScheduleSpec, epochs: int, *, integer: bool = False) -> None:
        self.spec = spec
        self.epochs = epochs
        self.integer = integer
        self.plateau: PlateauState | None = (
            PlateauState(value=float(spec.plateau.start)) if isinstance(spec, PlateauForm) else None
        )

    def at(self, epoch: int) -> float:
        raw = (
            self.plateau.value
            if self.plateau is not None
            else value_at(self.spec, epoch, self.epochs)
        )
        return _cast(raw, self.integer)

    def observe(self, metric: float) -> None:
        """Record an epoch's validation accuracy; only a plateau schedule reacts."""
        if self.plateau is not None and isinstance(self.spec, PlateauForm):
            self.plateau = plateau_step(self.spec.plateau, self.plateau, metric)

    def state_dict(self) -> dict[str, Any]:
        return {"plateau": asdict(self.plateau) if self.plateau is not None else None}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        saved = state.get("plateau")
        if saved is not None and self.plateau is not None:
            self.plateau = PlateauState(**saved)


def describe(spec: ScheduleSpec) -> str:
    """A short human description of a schedule, for tables and the TUI."""
    if isinstance(spec, int | float):
        return f"{spec:g}"
    if isinstance(spec, dict):
        return ", ".join(f"{v:g} from epoch {k}" for k, v in sorted(spec.items()))
    if isinstance(spec, list):
        return "per epoch: " + " ".join(f"{v:g}" for v in spec)
    if isinstance(spec, LinearForm):
        return f"linear {spec.linear.start:g} → {spec.linear.end:g}"
    if isinstance(spec, CosineForm):
        return f"cosine {spec.cosine.start:g} → {spec.cosine.end:g}"
    if isinstance(spec, PlateauForm):
        p = spec.plateau
        return f"{p.start:g}, ×{p.factor:g} after {p.patience} epochs without a better val acc"
    return str(spec)


def planned_batch_sizes(schedule: Schedule) -> list[int]:
    """The batch size each epoch starts with, as planned before training (a plateau schedule's
    later sizes depend on val accuracy: its first size stands for them). One place for what the
    workload estimate and the check of several processes' global batch both need."""
    sizes = Scheduler(schedule.batch_size, schedule.epochs, integer=True)
    return [int(sizes.at(epoch)) for epoch in range(schedule.epochs)]


def planned_steps(schedule: Schedule, images: int) -> int:
    """Training steps of a run of `images` images per epoch, as planned: each epoch's batches at
    the batch size it starts with (a last batch that `batch_slices` drops is still counted)."""
    return sum(-(-images // size) for size in planned_batch_sizes(schedule))
