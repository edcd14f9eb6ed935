"""The events a run emits: plain JSON-serialisable records, the engine's only output.

The engine calls an `EventSink` with each event; the run directory appends them to
`events.jsonl`, the headless printer turns them into lines, and the TUI tails the file. Field names
are public (DESIGN.md): scripts and the TUI read them. Epochs count from 0.

    run_start    preset, device, num_classes, classes, (+ run, epochs, images, cache_mb, ...)
    epoch_start  epoch, lr, batch_size, weight_decay
    progress     epoch, step, steps, loss, images_per_s    (a few per second at most)
    epoch_end    epoch, train_loss, train_acc, val_loss, val_acc, lr, batch_size, weight_decay,
                 seconds, images_per_s
    checkpoint   epoch, metric, value, path
    run_end      state (done | failed | cancelled), best, reason
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

EventType = Literal["run_start", "epoch_start", "progress", "epoch_end", "checkpoint", "run_end"]
EVENT_TYPES: tuple[EventType, ...] = (
    "run_start",
    "epoch_start",
    "progress",
    "epoch_end",
    "checkpoint",
    "run_end",
)
RunState = Literal["running", "done", "failed", "cancelled"]

Event = dict[str, Any]
"""`{"type": ..., "time": unix seconds, ...fields}`."""

EventSink = Callable[[Event], None]


def event(kind: EventType, **fields: Any) -> Event:
    """An event record stamped with the current time."""
    return {"type": kind, "time": round(time.time(), 3), **fields}


def is_event(record: Any) -> bool:
    """Whether a decoded JSON line looks like an hw3tui event."""
    return isinstance(record, dict) and record.get("type") in EVENT_TYPES


def fanout(*sinks: EventSink) -> EventSink:
    """One sink that passes each event to every sink, in order."""

    def emit(record: Event) -> None:
        for sink in sinks:
            sink(record)

    return emit
