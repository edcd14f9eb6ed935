"""The lr range test's ramp: its defaults and limits, and what makes one valid.

One place for both faces: `hw3tui lr-find`'s options and the TUI editor's lr finder dialog (which
runs that command as a child) read them, as does the engine's `lr_range_test`. No torch here: the
TUI imports it.
"""

from __future__ import annotations

import math

START, END, STEPS = 1e-7, 10.0, 100
"""The default ramp: from START to END over STEPS optimizer steps."""
MIN_STEPS, MAX_STEPS = 10, 10_000
"""The steps a ramp may have (`hw3tui lr-find --steps`)."""

Names = tuple[str, str, str]
"""What the start, end and steps are called where a problem is shown."""
FLAGS: Names = ("--start", "--end", "--steps")
STEPS_WANTED = f"is not a whole number from {MIN_STEPS} to {MAX_STEPS}"
"""Why a steps value is refused (after the value)."""


def ramp_problem(start: float, end: float, steps: int, names: Names = FLAGS) -> str | None:
    """The first thing wrong with a ramp, as one line naming its field; None when it is a ramp."""
    start_name, end_name, steps_name = names
    for name, lr in ((start_name, start), (end_name, end)):
        if not (math.isfinite(lr) and lr > 0):
            return f"{name}: {lr:g} is not a finite number above 0"
    if start >= end:
        return f"{start_name}: {start:g} is not below {end_name} {end:g}"
    if not MIN_STEPS <= steps <= MAX_STEPS:
        return f"{steps_name}: {steps} {STEPS_WANTED}"
    return None
