"""hw3tui's exit codes (public: scripts and the TUI read them), and the one a run's end means.

Bottom layer: imports nothing of hw3tui.
"""

from __future__ import annotations

OK = 0
FAILED = 1
"""A run failed (or could not be started for a reason that is not the user's input)."""
BAD_INPUT = 2
"""A preset, sweep file, path, flag, checkpoint, run folder or storage URL that cannot be used."""
CANCELLED = 130
"""Ctrl-C (128 + SIGINT), as a shell reports it."""

BY_STATE = {"done": OK, "failed": FAILED, "cancelled": CANCELLED}
"""A run's final state -> the exit code of the command that ran it."""


def of_state(state: str) -> int:
    """The exit code for a run that ended in `state` (anything unknown: failed)."""
    return BY_STATE.get(state, FAILED)
