"""Options several commands share. Imports only click: `hw3tui --help` and the TUI load this."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def folder_option(flag: str, help: str) -> Callable[[F], F]:
    """A folder option such as `--runs-dir`: a Path, or None when not given (each command has its
    own default, which `help` names)."""
    return click.option(
        flag, type=click.Path(file_okay=False, path_type=Path), default=None, help=help
    )


def runs_dir_option(what: str = "a RUN given by name") -> Callable[[F], F]:
    """`--runs-dir`, the same on every command that takes a run by name."""
    return folder_option("--runs-dir", f"Where to look for {what} (default: ./runs).")
