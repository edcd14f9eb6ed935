"""A run's result, written as comment lines at the top of its frozen preset.yaml.

    # hw3tui result: best val acc 0.9583 at epoch 7 (10/10 epochs, done)
    # hw3tui result: run quickstart-20261127-140501 · hw3tui 0.1.0 · 2026-11-27 14:07 UTC
    name: quickstart
    ...

Sharing the preset file then shares what it achieved. The lines are YAML comments, so the file
still validates and loads exactly as before; every other byte of the file is kept. When the run
ends again (a resumed run), the old result lines are replaced, never stacked. No torch here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import hw3tui
from hw3tui.atomic import write_text_atomic
from hw3tui.preset.yamlio import MAX_BYTES as PRESET_MAX_BYTES
from hw3tui.regular import read_text_regular
from hw3tui.runs import RunDir
from hw3tui.runs.history import history_of
from hw3tui.runs.status import Status
from hw3tui.untrusted import printable

MARK = "# hw3tui result:"


def strip_result(text: str) -> str:
    """`text` without its result lines (those at the top that start with the mark)."""
    lines = text.splitlines(keepends=True)
    kept = 0
    while kept < len(lines) and lines[kept].startswith(MARK):
        kept += 1
    return "".join(lines[kept:])


def result_lines(text: str) -> list[str]:
    """The result lines at the top of a preset file, without the mark."""
    lines = []
    for line in text.splitlines():
        if not line.startswith(MARK):
            break
        lines.append(line[len(MARK) :].strip())
    return lines


def with_result(text: str, lines: list[str]) -> str:
    """`text` with `lines` as its result header (replacing any it had)."""
    return "".join(f"{MARK} {line}\n" for line in lines) + strip_result(text)


def describe(
    *,
    best: tuple[float, int] | None,
    state: str,
    epochs_done: int,
    epochs: int | None,
    run: str,
    ended: float | None,
    checkpoint: Mapping[str, Any] | None = None,
    version: str = hw3tui.__version__,
) -> list[str]:
    """The two result lines: what the run achieved, then which run, hw3tui version and date."""
    planned = f"{epochs_done}/{epochs} epochs" if epochs else f"{epochs_done} epochs"
    if best is None:
        first = f"no finished epoch ({planned}, {state})"
    else:
        first = f"best val acc {best[0]:.4f} at epoch {best[1]} ({planned}, {state})"
    metric = str((checkpoint or {}).get("metric") or "val_acc")
    value = (checkpoint or {}).get("value")
    if metric != "val_acc" and isinstance(value, int | float):
        first += f"; checkpoint: best {metric.replace('_', ' ')} {value:.4f} "
        first += f"at epoch {(checkpoint or {}).get('epoch')}"
    when = datetime.fromtimestamp(ended, timezone.utc) if ended is not None else None
    stamp = when.strftime("%Y-%m-%d %H:%M UTC") if when is not None else "date unknown"
    # escaped: a newline in a copied-in folder's name would end the comment and add YAML
    return [printable(first), printable(f"run {run} · hw3tui {version} · {stamp}")]


def stamp_result(run: RunDir) -> bool:
    """Write the run's result (from its status and events) at the top of its preset.yaml, in one
    atomic replace. False when there is no preset.yaml or it cannot be rewritten: a result
    header must never fail a run."""
    try:
        text = read_text_regular(run.preset_file, limit=PRESET_MAX_BYTES)
    except (OSError, UnicodeDecodeError):
        return False
    updated = with_result(text, result_of(run))
    if updated == text:
        return True
    with contextlib.suppress(OSError):
        write_text_atomic(run.preset_file, updated)
        return True
    return False


def result_of(run: RunDir) -> list[str]:
    """The run's result lines, from its status and events."""
    found = run.read_status()
    status = found or Status()
    history = history_of(run.events())
    return describe(
        best=history.best_of("val_acc"),
        state=(found.state_word if found is not None else "") or history.state,
        epochs_done=history.epochs_done,
        epochs=status.epochs if status.epochs is not None else history.epochs_planned,
        run=run.name,
        ended=status.ended,
        checkpoint=status.best,
    )
