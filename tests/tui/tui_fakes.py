"""Run directories written by tests: fixed events and times, so screens look the same each run."""

from __future__ import annotations

import math
from pathlib import Path

from hw3tui.runs import RunDir
from hw3tui.runs.events import Event
from hw3tui.runs.status import Status

TINY = Path(__file__).resolve().parent.parent / "data" / "tiny.yaml"
STARTED = 1_767_225_600.0
"""2026-01-01 00:00:00 UTC."""


def tiny_text(name: str = "tiny", **replace: str) -> str:
    text = TINY.read_text().replace("name: tiny", f"name: {name}")
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


def epoch_events(
    epochs: int,
    *,
    done: int,
    steps: int = 6,
    acc_gain: float = 0.1,
    start: float = STARTED,
    seconds: float = 12.0,
    in_epoch_steps: int = 0,
) -> list[Event]:
    """`done` finished epochs of a run planned for `epochs`, then `in_epoch_steps` of the next."""
    events: list[Event] = [
        {
            "type": "run_start",
            "time": start,
            "preset": "tiny",
            "device": "cpu",
            "num_classes": 3,
            "classes": ["circle", "square", "triangle"],
            "epochs": epochs,
        }
    ]
    now = start
    best: dict[str, object] | None = None
    for epoch in range(done + (1 if in_epoch_steps else 0)):
        events.append(
            {
                "type": "epoch_start",
                "time": now,
                "epoch": epoch,
                "lr": 0.001,
                "batch_size": 16,
                "weight_decay": 0.0,
            }
        )
        last_steps = steps if epoch < done else in_epoch_steps
        for step in range(1, last_steps + 1):
            events.append(
                {
                    "type": "progress",
                    "time": now + seconds * step / (steps + 1),
                    "epoch": epoch,
                    "step": step,
                    "steps": steps,
                    "loss": round(
                        1.2 * math.exp(-0.15 * (epoch * steps + step)) + 0.05 * (step % 3), 4
                    ),
                    "images_per_s": 400.0,
                }
            )
        if epoch >= done:
            break
        now += seconds
        val_acc = round(min(0.99, 0.4 + acc_gain * epoch), 4)
        events.append(
            {
                "type": "epoch_end",
                "time": now,
                "epoch": epoch,
                "train_loss": round(1.1 * math.exp(-0.4 * epoch), 4),
                "train_acc": round(min(0.99, 0.45 + acc_gain * epoch), 4),
                "val_loss": round(1.2 * math.exp(-0.3 * epoch), 4),
                "val_acc": val_acc,
                "lr": 0.001,
                "batch_size": 16,
                "weight_decay": 0.0,
                "seconds": seconds,
                "images_per_s": 400.0,
            }
        )
        best = {
            "epoch": epoch,
            "metric": "val_acc",
            "value": val_acc,
            "path": "best/resnet18_best.safetensors",
        }
        events.append({"type": "checkpoint", "time": now, **best})
    return events


def write_run(
    runs_dir: Path,
    name: str,
    *,
    epochs: int = 4,
    done: int | None = None,
    state: str = "done",
    acc_gain: float = 0.1,
    preset_text: str | None = None,
    start: float = STARTED,
    in_epoch_steps: int = 0,
    log: str = "",
) -> RunDir:
    """A run directory as the engine leaves it (`state` done, cancelled, failed or running)."""
    done = epochs if done is None else done
    run = RunDir(runs_dir / name)
    run.path.mkdir(parents=True)
    run.preset_file.write_text(preset_text or epochs_line(epochs))
    events = epoch_events(
        epochs, done=done, acc_gain=acc_gain, start=start, in_epoch_steps=in_epoch_steps
    )
    best = next((e for e in reversed(events) if e["type"] == "checkpoint"), None)
    best_record = (
        {k: best[k] for k in ("epoch", "metric", "value", "path")} if best is not None else None
    )
    end_time = start + 12.0 * done
    if state != "running":
        events.append(
            {"type": "run_end", "time": end_time, "state": state, "best": best_record, "reason": ""}
        )
    for record in events:
        run.append_event(record)
    run.write_status(
        Status.from_json(
            {
                "state": state,
                "pid": 999_999_999,
                "started": start,
                "ended": None if state == "running" else end_time,
                "best": best_record,
                "preset": "tiny",
                "epochs": epochs,
                "epochs_done": done,
            }
        )
    )
    run.log_file.write_text(log or f"hw3tui run: {name}\ntraining on cpu\n")
    return run


def epochs_line(epochs: int) -> str:
    return tiny_text().replace("epochs: 2", f"epochs: {epochs}")
