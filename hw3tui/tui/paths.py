"""Paths as the user sees them: shortened, and escaped (someone else may have named them)."""

from __future__ import annotations

import os
from pathlib import Path

from rich.cells import cell_len

from hw3tui.untrusted import printable

ELLIPSIS = "…"


def shown_path(path: Path) -> str:
    """`path` relative to the working directory when it lies below it, else as given; control
    characters escaped (`printable`)."""
    try:
        shown = os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        shown = str(path)
    return printable(shown)


def fold_path(path: str, width: int, max_lines: int = 0) -> list[str]:
    """`path` in lines of at most `width` cells, broken only at a `/` and never inside a name,
    filled from the end so the file stays with its folder (`runs/<run>/` over
    `best/resnet18_best.safetensors`). A `/` ends its line, or starts the next one when only the
    name fits. With `max_lines`, the last lines are kept and `…/` stands for the rest where it
    fits. A name wider than a line keeps its end (`…_best.safetensors`). One line when `width` is
    unknown (0)."""
    if width <= 0 or cell_len(path) <= width:
        return [path]
    *folders, line = path.split("/")
    lines: list[str] = []
    for folder in reversed(folders):
        if cell_len(f"{folder}/{line}") <= width:
            line = f"{folder}/{line}"
        elif cell_len(f"{folder}/") <= width or cell_len(f"/{line}") > width:
            lines.insert(0, line)
            line = f"{folder}/"
        else:
            lines.insert(0, f"/{line}")
            line = folder
    lines.insert(0, line)
    if 0 < max_lines < len(lines):
        lines = lines[-max_lines:]
        marker = ELLIPSIS if lines[0].startswith("/") else f"{ELLIPSIS}/"
        if cell_len(marker + lines[0]) <= width:
            lines[0] = marker + lines[0]
    return [_keep_end(line, width) for line in lines]


def _keep_end(line: str, width: int) -> str:
    if cell_len(line) <= width:
        return line
    kept = ""
    for char in reversed(line):
        if cell_len(char + kept) + cell_len(ELLIPSIS) > width:
            break
        kept = char + kept
    return ELLIPSIS + kept
