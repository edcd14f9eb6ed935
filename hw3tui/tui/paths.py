"""Paths as the user sees them: shortened, and escaped (someone else may have named them)."""

from __future__ import annotations

import os
from pathlib import Path

from hw3tui.untrusted import printable


def shown_path(path: Path) -> str:
    """`path` relative to the working directory when it lies below it, else as given; control
    characters escaped (`printable`)."""
    try:
        shown = os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        shown = str(path)
    return printable(shown)
