"""What the commands that read presets share: the `--set` option, loading and warnings.

Bad input is raised as a `hw3tui.errors.BadInput` (a `PresetError` is one); the `hw3tui` group
shows it and exits 2 (`hw3tui.cli`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from hw3tui.preset import LoadedPreset, load_preset

F = TypeVar("F", bound=Callable[..., Any])


def set_option(function: F) -> F:
    """`--set field.path=value`, repeatable, validated exactly like the preset file."""
    return click.option(
        "--set",
        "overrides",
        multiple=True,
        metavar="FIELD=VALUE",
        help="Override a preset field, e.g. --set schedule.epochs=20 (repeatable; YAML values).",
    )(function)


def load_or_exit(preset: str, overrides: tuple[str, ...] = ()) -> LoadedPreset:
    """Load and validate a preset; a `PresetError` (exit 2) names every problem, located."""
    loaded = load_preset(preset, overrides)
    warn(loaded)
    return loaded


def warn(loaded: LoadedPreset) -> None:
    """One `warning:` line on stderr per thing an override made moot."""
    for line in loaded.warnings:
        click.echo(f"warning: {line}", err=True)
