"""The `hw3tui` command. Bare `hw3tui` opens the TUI.

Sub-commands live in `hw3tui/commands/` and are imported only when used; `--help` lists them
from COMMANDS without importing any, and none of them imports torch at module level, so `--help`,
`validate` and `schema` answer at once.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import IO, Any, NamedTuple

import click

from hw3tui import __version__, exits
from hw3tui.commands.options import folder_option, runs_dir_option
from hw3tui.errors import BadInput
from hw3tui.untrusted import printable


class Entry(NamedTuple):
    """One sub-command: where it lives, and its one-line help for `hw3tui --help`."""

    target: str
    """"module:attribute" of its click command."""
    summary: str
    """The first line of the command's help (tests/test_cli.py keeps the two equal), so that
    listing the commands imports none of them."""


COMMANDS: dict[str, Entry] = {
    "tui": Entry(
        "hw3tui.commands.tui:tui",
        "Open the terminal UI: edit presets, launch runs and sweeps, watch them live, compare "
        "them.",
    ),
    "run": Entry(
        "hw3tui.commands.train:run",
        "Train PRESET headless (a preset file, or a built-in name such as quickstart).",
    ),
    "resume": Entry(
        "hw3tui.commands.train:resume",
        "Continue a cancelled, failed or killed run RUN (its folder, or its name under runs/).",
    ),
    "validate": Entry(
        "hw3tui.commands.presets:validate",
        "Check presets: exit 0 when all are valid, else 2 with every problem located.",
    ),
    "schema": Entry(
        "hw3tui.commands.presets:schema",
        "Print the JSON Schema of presets (for editors' YAML language servers).",
    ),
    "diff": Entry(
        "hw3tui.commands.presets:diff",
        "Show field-level differences between presets A and B, defaults filled in.",
    ),
    "runs": Entry(
        "hw3tui.commands.runs:runs",
        "List runs, newest first: state, best val acc, epochs, duration, start time.",
    ),
    "compare": Entry(
        "hw3tui.commands.runs:compare",
        "Runs side by side: best metrics, differing preset fields, curves, verdicts.",
    ),
    "join": Entry(
        "hw3tui.commands.checkpoints:join",
        "Rebuild the single .safetensors file from its chunks.",
    ),
    "verify": Entry(
        "hw3tui.commands.checkpoints:verify",
        "Check a checkpoint: every chunk against SHA256SUMS, and its header.",
    ),
    "eval": Entry(
        "hw3tui.commands.results:evaluate",
        "Accuracy, loss, per-class accuracy and confusion matrix of a trained model.",
    ),
    "predict": Entry(
        "hw3tui.commands.results:predict",
        "Predict a class for every image in IMAGES_DIR and write one CSV row per image.",
    ),
    "sweep": Entry(
        "hw3tui.commands.sweeps:sweep",
        "Run a sweep FILE, or a queue of presets (FILE... given instead of a sweep file).",
    ),
    "repeat": Entry(
        "hw3tui.commands.sweeps:repeat",
        "Run PRESET N times with seeds seed..seed+N-1: a sweep with no axes and `repeat: N`.",
    ),
    "ablate": Entry(
        "hw3tui.commands.ablate:ablate",
        "Run PRESET as is and once per choice it makes, that choice turned off (an ablation).",
    ),
    "sweeps": Entry(
        "hw3tui.commands.sweeps:sweeps",
        "List sweeps: state, trials ended of planned, best value and its trial.",
    ),
    "plot": Entry(
        "hw3tui.commands.writeup:plot",
        "Figures of runs (or of a SWEEP's trials) into DIR, for a report.",
    ),
    "augment": Entry(
        "hw3tui.commands.writeup:augment",
        "Show what the preset's augmentation does to training images.",
    ),
    "note": Entry(
        "hw3tui.commands.writeup:note",
        "Append TEXT (why you tried this, what you saw) to the run's notes.md, dated.",
    ),
    "findings": Entry(
        "hw3tui.commands.findings:findings",
        "What RUN... show, in sentences: the epoch kept, overfitting, schedules, verdicts.",
    ),
    "report": Entry(
        "hw3tui.commands.report:report",
        "Write DIR/report.md with its figures: the write-up of RUN... for a report.",
    ),
    "tune": Entry(
        "hw3tui.commands.tune:tune",
        "Time the precisions and memory layouts `runtime: auto` chooses among for PRESET.",
    ),
    "lr-find": Entry(
        "hw3tui.commands.lr_find:lr_find",
        "Find a learning rate for PRESET: a short exponential lr ramp on a throwaway model.",
    ),
    "export": Entry(
        "hw3tui.commands.export:export",
        "Write a trained model as ONNX, a torch.export program or a plain state_dict, checked.",
    ),
}
"""Command name -> its entry. `hw3tui --help` reads the summaries from here."""


class Refused(click.ClickException):
    """Bad input as the user sees it: no traceback, exit 2.

    The message may hold several lines, one per problem (e.g. `file:line:col: field: message`).
    Each is shown escaped (problems quote file and class names that someone else chose), with
    `error: ` before each that does not start with where it is.
    """

    exit_code = exits.BAD_INPUT

    def show(self, file: IO[Any] | None = None) -> None:
        for line in map(printable, self.format_message().splitlines()):
            click.echo(line if _located(line) else f"error: {line}", err=True)


def _located(line: str) -> bool:
    head = line.split(": ", 1)[0]
    return head.startswith("--set ") or (":" in head and head.rsplit(":", 1)[-1].isdigit())


class LazyGroup(click.Group):
    """A group that imports each sub-command's module only when that command is needed: listing
    them (`hw3tui --help`) imports none, so it builds no preset models.

    Bad input is caught here, once for every command: any `hw3tui.errors.BadInput` a command or
    the engine raises becomes its message and exit 2.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BadInput as exc:
            raise Refused(str(exc)) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry.summary) for name, entry in COMMANDS.items()])

    @staticmethod
    def _load(name: str) -> click.Command | None:
        entry = COMMANDS.get(name)
        if entry is None:
            return None
        module_name, _, attribute = entry.target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute, None)
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
@runs_dir_option("Folder of runs the TUI lists")
@folder_option(
    "--sweeps-dir",
    "Folder of sweeps the TUI lists, and where its new sweeps go (default: ./sweeps).",
)
@click.version_option(__version__, "-V", "--version", prog_name="hw3tui")
@click.pass_context
def cli(
    ctx: click.Context,
    presets_dir: Path | None,
    runs_dir: Path | None,
    sweeps_dir: Path | None,
) -> None:
    """Run and tune image-classifier fine-tuning experiments from a terminal.

    Without a command, opens the TUI. Exit codes: 0 success, 1 a run failed,
    2 bad input (preset, path, flag, checkpoint), 130 cancelled.
    """
    if ctx.invoked_subcommand is None:
        tui = LazyGroup._load("tui")
        if tui is None:
            raise click.UsageError("the TUI is not available in this build; see `hw3tui --help`")
        ctx.invoke(tui, presets_dir=presets_dir, runs_dir=runs_dir, sweeps_dir=sweeps_dir)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="hw3tui")
