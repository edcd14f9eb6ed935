"""The `hw3tui` command. Bare `hw3tui` opens the TUI.

Sub-commands live in `hw3tui/commands/` and are imported only when used (or listed by `--help`);
none of them imports torch at module level, so `--help`, `validate` and `schema` answer at once.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click

from hw3tui import __version__
from hw3tui.commands.options import folder_option

COMMANDS: dict[str, str] = {
    "tui": "hw3tui.commands.tui:tui",
    "run": "hw3tui.commands.train:run",
    "resume": "hw3tui.commands.train:resume",
    "validate": "hw3tui.commands.presets:validate",
    "schema": "hw3tui.commands.presets:schema",
    "diff": "hw3tui.commands.presets:diff",
    "runs": "hw3tui.commands.runs:runs",
    "compare": "hw3tui.commands.runs:compare",
    "join": "hw3tui.commands.checkpoints:join",
    "verify": "hw3tui.commands.checkpoints:verify",
    "eval": "hw3tui.commands.results:evaluate",
    "predict": "hw3tui.commands.results:predict",
    "tune": "hw3tui.commands.tune:tune",
}
"""Command name -> "module:attribute" of its click command."""


class LazyGroup(click.Group):
    """A group that imports each sub-command's module only when that command is needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._load(name) is not None]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # that command is not built yet
                return None
            raise
        command = getattr(module, attribute, None)
        return command if isinstance(command, click.Command) else None


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@folder_option(
    "--presets-dir",
    "Folder of presets the TUI lists (default: ./presets).",
)
@folder_option(
    "--runs-dir",
    "Folder of runs the TUI lists (default: ./runs).",
)
@click.version_option(__version__, "-V", "--version", prog_name="hw3tui")
@click.pass_context
def cli(ctx: click.Context, presets_dir: Path | None, runs_dir: Path | None) -> None:
    """Run and tune image-classifier fine-tuning experiments from a terminal.

    Without a command, opens the TUI. Exit codes: 0 success, 1 a run failed,
    2 bad input (preset, path, flag, checkpoint), 130 cancelled.
    """
    if ctx.invoked_subcommand is None:
        tui = LazyGroup._load("tui")
        if tui is None:
            raise click.UsageError("the TUI is not available in this build; see `hw3tui --help`")
        ctx.invoke(tui, presets_dir=presets_dir, runs_dir=runs_dir)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="hw3tui")
