"""The events a run emits: JSON records, the engine's only output, one `TypedDict` per type.

The engine calls an `EventSink` with each event; the run directory appends them to
`events.jsonl`, the headless printer turns them into lines, and the TUI tails the file. Field names
are public (the README's "Running" section sends readers here): scripts and the TUI read them.
Epochs count from 0. The classes below are the field list, in one place: mypy checks that the
engine writes exactly these fields, and `problems` checks a decoded record against them
(tests/runs/test_event_fields.py runs a training and checks every line it wrote).

Readers take what they read as an `Event` (any mapping): a file may be hand-edited, truncated or
written by another version. The one reader of events.jsonl (`hw3tui.runs.tails.EventTail`) lets
through only records that `malformed` finds nothing wrong with (a missing field is allowed, a
field of the wrong type, or a number that is not finite, is not), so every face gets events
whose numbers are numbers; readers still check each value they use (`hw3tui.runs.numbers`).
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypedDict, Union, get_args, get_origin, get_type_hints

from typing_extensions import NotRequired

from hw3tui.runs.numbers import as_float, as_int

EventType = Literal["run_start", "epoch_start", "progress", "epoch_end", "checkpoint", "run_end"]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)
EndState = Literal["done", "failed", "cancelled"]


class Images(TypedDict):
    train: int
    val: int


class Runtime(TypedDict):
    """What the run trains on, as chosen from the preset's `runtime` and the machine."""

    device: str
    precision: str
    channels_last: bool
    compile: bool
    threads: int
    workers: int
    auto: NotRequired[dict[str, Any]]
    """How `auto` settled precision and layout: measured, cached, table or forced, and the rates."""


class Best(TypedDict):
    """The best checkpoint so far (also status.json's `best`)."""

    epoch: int
    metric: str
    """val_acc or val_loss: what the run keeps the best of."""
    value: float
    path: str
    """The checkpoint's chunk prefix, relative to the run folder."""


class RunStart(TypedDict):
    """Training starts (again, after a resume: the same file gets a second `run_start`)."""

    type: Literal["run_start"]
    time: float
    preset: str
    device: str
    num_classes: int
    classes: list[str]
    run: str
    run_dir: str
    epochs: int
    images: Images
    cache_mb: float
    data: str
    backbone: str
    pretrained: str
    """`true`, `false` or the weights file's path."""
    runtime: Runtime
    pid: int
    version: str
    processes: NotRequired[int]
    """Under torchrun only: how many ranks train."""
    resumed_from_epoch: NotRequired[int]
    """After a resume only: the epoch (and step within it) training continues from."""
    resumed_from_step: NotRequired[int]
    extended_from_epoch: NotRequired[int]
    """After `hw3tui resume --set schedule.*` only: the epochs the run had trained when its
    schedule was extended (or otherwise changed)."""


class EpochStart(TypedDict):
    type: Literal["epoch_start"]
    time: float
    epoch: int
    lr: float
    batch_size: int
    weight_decay: float
    steps: int
    """Training steps (batches) in this epoch."""


class Progress(TypedDict):
    """A few a second at most, during an epoch's training."""

    type: Literal["progress"]
    time: float
    epoch: int
    step: int
    steps: int
    loss: float | None
    """The epoch's mean training loss so far (null: not finite)."""
    acc: float
    images_per_s: float


class EpochEnd(TypedDict):
    type: Literal["epoch_end"]
    time: float
    epoch: int
    train_loss: float | None
    train_acc: float
    seconds: float
    images_per_s: float
    val_loss: float | None
    val_acc: float
    """With `ema` in the preset: the weights' moving average's (the raw weights' in `_raw`)."""
    lr: float
    batch_size: int
    weight_decay: float
    val_loss_raw: NotRequired[float | None]
    """With `ema` only: the raw (not averaged) weights' val loss (null: not finite)."""
    val_acc_raw: NotRequired[float]
    """With `ema` only: the raw weights' val accuracy."""


class Checkpoint(TypedDict):
    """A new best checkpoint was written."""

    type: Literal["checkpoint"]
    time: float
    epoch: int
    metric: str
    value: float
    path: str


class RunEnd(TypedDict):
    type: Literal["run_end"]
    time: float
    state: EndState
    best: Best | None
    reason: str


FIELDS: dict[str, type[Any]] = {
    "run_start": RunStart,
    "epoch_start": EpochStart,
    "progress": Progress,
    "epoch_end": EpochEnd,
    "checkpoint": Checkpoint,
    "run_end": RunEnd,
}
"""Each event type's `TypedDict`: its fields and their types."""

Event = Mapping[str, Any]
"""An event as a reader gets it (decoded JSON, or live from the engine): check what you use."""

EventSink = Callable[[Event], None]

Note = Callable[[str], None]
"""Where a message for the person watching goes before (or outside) a run's events: setup
("decoding 9866 images ..."), the launcher's word on its ranks."""


def now() -> float:
    """An event's `time`: unix seconds, to the millisecond."""
    return round(time.time(), 3)


def event(kind: EventType, **fields: Any) -> Event:
    """An untyped event record stamped with the current time (tests, hand-made events)."""
    return {"type": kind, "time": now(), **fields}


def is_event(record: Any) -> bool:
    """Whether a decoded JSON line looks like an hw3tui event."""
    return isinstance(record, dict) and record.get("type") in EVENT_TYPES


def problems(record: Any) -> list[str]:
    """How a decoded event differs from its declared fields: missing, unknown or mistyped ones
    (empty when it matches exactly). A JSON integer counts as a float, as JSON does."""
    if not is_event(record):
        return [f"not an event: {record!r:.80}"]
    return _check(record, FIELDS[record["type"]], record["type"], complete=True)


def malformed(record: Any) -> str | None:
    """Why a decoded line is no event a reader can use (`not an hw3tui event`, `epoch_start.epoch:
    inf is not int`), or None. Lenient where `problems` is strict: a field may be missing (an
    older version, a hand-made file) or undeclared (a newer version); a declared field must have
    its type, and a number must be finite and within `hw3tui.runs.numbers`' bounds."""
    if not is_event(record):
        return "not an hw3tui event"
    found = _check(record, FIELDS[record["type"]], record["type"], complete=False)
    return found[0] if found else None


def _check(
    record: Mapping[str, Any], declared: type[Any], where: str, *, complete: bool
) -> list[str]:
    hints = _hints(declared)
    optional = {name for name, hint in hints.items() if get_origin(hint) is NotRequired}
    found: list[str] = []
    if complete:
        for name in sorted(set(hints) - set(record) - optional):
            found.append(f"{where}: no {name}")
        for name in sorted(set(record) - set(hints)):
            found.append(f"{where}: {name} is not a declared field")
    for name, hint in hints.items():
        if name in record:
            plain = get_args(hint)[0] if name in optional else hint
            found += _check_value(record[name], plain, f"{where}.{name}", complete)
    return found


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(declared: type[Any]) -> dict[str, Any]:
    """A TypedDict's fields (kept: every line of every events.jsonl is checked)."""
    if declared not in _HINTS:
        _HINTS[declared] = get_type_hints(declared, include_extras=True)
    return _HINTS[declared]


def _check_value(value: Any, hint: Any, where: str, complete: bool) -> list[str]:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        choices = get_args(hint)
        if value is None and type(None) in choices:
            return []
        found = [
            _check_value(value, choice, where, complete)
            for choice in choices
            if choice is not type(None)
        ]
        # `X | None` with a value that is not None: what is wrong with it as an X
        return [] if [] in found else found[0] if len(found) == 1 else [f"{where}: not {hint}"]
    if origin is Literal:
        return [] if value in get_args(hint) else [f"{where}: {value!r:.40} is not {hint}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {value!r:.40} is not a list"]
        (item,) = get_args(hint)
        return [
            p for i, v in enumerate(value) for p in _check_value(v, item, f"{where}[{i}]", complete)
        ]
    if origin is dict:  # a free-form object (runtime.auto): its keys are the probe's own
        return [] if isinstance(value, dict) else [f"{where}: {value!r:.40} is not an object"]
    if isinstance(hint, type) and hasattr(hint, "__required_keys__"):  # a nested TypedDict
        if not isinstance(value, dict):
            return [f"{where}: {value!r:.40} is not an object"]
        return _check(value, hint, where, complete=complete)
    if hint is type(None):
        return [] if value is None else [f"{where}: {value!r:.40} is not null"]
    if hint is float:  # finite and within bounds: NaN, Infinity and 1e400 are no numbers here
        ok = as_float(value) is not None
    elif hint is int:
        ok = as_int(value) is not None
    else:
        ok = isinstance(value, hint)
    return [] if ok else [f"{where}: {value!r:.40} is not {hint.__name__}"]
