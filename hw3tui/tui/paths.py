"""Paths as the user sees them."""

from __future__ import annotations

import os
from pathlib import Path


def shown_path(path: Path) -> str:
    """`path` relative to the working directory when it lies below it, else as given."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)
