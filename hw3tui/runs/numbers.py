"""JSON values as a reader of run files takes them: a number is a number, anything else is none.

A run folder may be hand-edited, truncated or written by another version, and JSON's `true` is
Python's `True`, an `int`: every reader converts through here, never with its own `isinstance`.
"""

from __future__ import annotations

from typing import Any


def as_float(value: Any) -> float | None:
    """A JSON number as a float (an integer too); None for anything else (null, true, "1")."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def as_int(value: Any) -> int | None:
    """A JSON integer; None for anything else (null, true, 1.5)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value
