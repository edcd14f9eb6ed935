"""The lr range test's ramp: its defaults and limits, and what makes one valid.

One place for both faces: `hw3tui lr-find`'s options and the TUI editor's lr finder dialog (which
runs that command as a child) read them, as does the engine's `lr_range_test`. No torch here: the
TUI imports it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

START, END, STEPS = 1e-7, 10.0, 100
"""The default ramp: from START to END over STEPS optimizer steps."""
MIN_STEPS, MAX_STEPS = 10, 10_000
"""The steps a ramp may have (`hw3tui lr-find --steps`)."""

Names = tuple[str, str, str]
"""What the start, end and steps are called where a problem is shown."""
FLAGS: Names = ("--start", "--end", "--steps")
STEPS_WANTED = f"is not a whole number from {MIN_STEPS} to {MAX_STEPS}"
"""Why a steps value is refused (after the value)."""


class Refused(NamedTuple):
    """Why a ramp is refused: `field` 0, 1 or 2 (start, end, steps) and one line naming it."""

    field: int
    line: str


def ramp_problem(start: float, end: float, steps: int, names: Names = FLAGS) -> Refused | None:
    """The first thing wrong with a ramp; None when it is one."""
    for field, lr in enumerate((start, end)):
        if not (math.isfinite(lr) and lr > 0):
            return Refused(field, f"{names[field]}: {lr:g} is not a finite number above 0")
    if start >= end:
        return Refused(0, f"{names[0]}: {start:g} is not below {names[1]} {end:g}")
    if not MIN_STEPS <= steps <= MAX_STEPS:
        return Refused(2, f"{names[2]}: {steps} {STEPS_WANTED}")
    return None
