"""`hw3tui --help` lists the commands from cli.COMMANDS without importing them."""

from __future__ import annotations

import ast
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from hw3tui.cli import COMMANDS, LazyGroup, cli

HEAVY = ("hw3tui.preset.models", "pydantic", "torch", "torchvision", "textual", "rich")


def imported_by(argv: list[str], env: dict[str, str]) -> tuple[list[str], str]:
    """The heavy modules a fresh `hw3tui ARGV` imported, and what it printed."""
    probe = (
        "import sys\n"
        "from hw3tui.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('IMPORTED', sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False
    )
    assert "IMPORTED" in done.stderr, done.stderr
    return ast.literal_eval(done.stderr.rsplit("IMPORTED", 1)[1].strip()), done.stdout


def test_help_imports_no_command_and_no_model(subprocess_env: dict[str, str]) -> None:
    heavy, shown = imported_by(["--help"], subprocess_env)
    assert heavy == []
    listing = " ".join(shown.split("Commands:", 1)[1].split())  # unwrapped
    for name, entry in COMMANDS.items():
        assert f"{name} {entry.summary}" in listing  # whole, not click's truncated first line


def test_run_help_builds_models_but_never_imports_torch(subprocess_env: dict[str, str]) -> None:
    heavy, shown = imported_by(["run", "--help"], subprocess_env)
    assert "hw3tui.preset.models" in heavy
    assert not {"torch", "torchvision", "textual"} & set(heavy)
    assert "--set" in shown


@pytest.mark.parametrize("name", list(COMMANDS))
def test_summary_is_the_first_line_of_the_command_help(name: str) -> None:
    command = LazyGroup._load(name)
    assert isinstance(command, click.Command)
    assert command.help is not None
    assert COMMANDS[name].summary == command.help.strip().splitlines()[0], (
        "keep hw3tui/cli.py's COMMANDS summary equal to the docstring's first line"
    )


def test_unknown_command_is_bad_input() -> None:
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == 2
    assert "No such command 'frobnicate'" in result.output
