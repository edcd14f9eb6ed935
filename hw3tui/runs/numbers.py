"""JSON values as a reader of run files takes them: a number is a number, anything else is none.

A run folder may be hand-edited, truncated or written by another version, and JSON's `true` is
Python's `True`, an `int`: every reader converts through here, never with its own `isinstance`.
Python's JSON reads `NaN`, `Infinity` and `1e400` (infinity) as floats and `1` followed by 400
zeros as an int: none of them is a number a run writes, and each one crashes somebody's
arithmetic (`int(inf)`, a plot's scale, a sparkline), so they read as none too.
"""

from __future__ import annotations

import math
from typing import Any

LARGEST = 1e100
"""Beyond any metric, time, rate or rate of change a run writes, and small enough that sums,
differences and squares of such numbers stay finite."""

LARGEST_INT = 2**53
"""The largest integer a float (and every JSON reader) holds exactly."""


def as_float(value: Any) -> float | None:
    """A JSON number as a float (an integer too); None for anything else (null, true, "1") and
    for a number that is not finite or is beyond `LARGEST`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int) and abs(value) > LARGEST_INT:
        return None
    number = float(value)
    return number if math.isfinite(number) and abs(number) <= LARGEST else None


def as_int(value: Any) -> int | None:
    """A JSON integer within `LARGEST_INT`; None for anything else (null, true, 1.5, 10**400)."""
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > LARGEST_INT:
        return None
    return value
