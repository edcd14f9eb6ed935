"""The presets the home screen lists: the presets folder, built-ins, and files opened by path."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hw3tui.preset import Preset, PresetError, builtin_presets, load_preset
from hw3tui.preset.io import SUFFIXES
from hw3tui.tui.paths import shown_path
from hw3tui.untrusted import printable


@dataclass(frozen=True)
class PresetEntry:
    """One row of the presets table."""

    path: Path
    shown: str
    """The path as the user sees it (relative to the working directory when inside it)."""
    builtin: bool
    preset: Preset | None
    problem: str | None
    problem_count: int = 0

    @property
    def name(self) -> str:
        return self.preset.name if self.preset is not None else printable(self.path.stem)

    @property
    def key(self) -> str:
        return str(self.path.resolve())


def read_entry(path: Path, *, builtin: bool = False) -> PresetEntry:
    """Load one preset for the table; an invalid one is listed with its first problem."""
    shown = f"{path.stem} (built-in)" if builtin else shown_path(path)
    try:
        loaded = load_preset(path)
    except PresetError as exc:
        return PresetEntry(
            path,
            shown,
            builtin,
            None,
            str(exc.problems[0]) if exc.problems else str(exc),
            len(exc.problems),
        )
    return PresetEntry(path, shown, builtin, loaded.preset, None)


def preset_files(presets_dir: Path) -> list[Path]:
    if not presets_dir.is_dir():
        return []
    return sorted(
        p
        for p in presets_dir.iterdir()
        if p.suffix in SUFFIXES and p.is_file() and not p.stem.endswith(SWEEP_SUFFIX)
    )


SWEEP_SUFFIX = ".sweep"
"""Sweep files the TUI writes next to a preset (`<name>.sweep.yaml`) are not presets."""


def catalog(presets_dir: Path, opened: Iterable[Path] = ()) -> list[PresetEntry]:
    """Every preset to list: the folder's, then files opened by path. With neither (a fresh
    folder), the built-in presets, so there is always something to start from."""
    entries: list[PresetEntry] = []
    seen: set[Path] = set()
    for path in [*preset_files(presets_dir), *opened]:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            entries.append(read_entry(path))
    if entries:
        return entries
    return [read_entry(path, builtin=True) for _, path in sorted(builtin_presets().items())]
