"""What every command shares: the exit codes, bad-input errors and the `--set` option."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any, TypeVar

import click

from hw3tui.preset import LoadedPreset, PresetError, load_preset

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_CANCELLED = 130

F = TypeVar("F", bound=Callable[..., Any])


class BadInput(click.ClickException):
    """Bad input (a preset, a path, a flag, a checkpoint): its message, no traceback, exit 2.

    The message may hold several lines, one per problem (e.g. `file:line:col: field: message`).
    """

    exit_code = EXIT_BAD_INPUT

    def show(self, file: IO[Any] | None = None) -> None:
        for line in self.format_message().splitlines():
            click.echo(line if _located(line) else f"error: {line}", err=True)


def _located(line: str) -> bool:
    head = line.split(": ", 1)[0]
    return head.startswith("--set ") or (":" in head and head.rsplit(":", 1)[-1].isdigit())


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
    """Load and validate a preset, or exit 2 with every problem located."""
    try:
        loaded = load_preset(preset, overrides)
    except PresetError as exc:
        raise BadInput(str(exc)) from None
    warn(loaded)
    return loaded


def warn(loaded: LoadedPreset) -> None:
    """One `warning:` line on stderr per thing an override made moot."""
    for line in loaded.warnings:
        click.echo(f"warning: {line}", err=True)
