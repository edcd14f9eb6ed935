"""`hw3tui validate`, `hw3tui schema` and `hw3tui diff`: presets without training (no torch)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hw3tui.atomic import write_text_atomic
from hw3tui.commands.common import load_or_exit, set_option, warn
from hw3tui.errors import BadInput
from hw3tui.preset import PresetError, load_preset
from hw3tui.preset.diff import diff as preset_diff
from hw3tui.preset.schema import preset_schema


@click.command()
@click.argument("presets", nargs=-1, required=True, metavar="PRESET...")
@set_option
def validate(presets: tuple[str, ...], overrides: tuple[str, ...]) -> None:
    """Check presets: exit 0 when all are valid, else 2 with every problem located.

    PRESET is a YAML file or the name of a built-in preset (quickstart, mobilenetv2, resnet50).
    """
    problems: list[str] = []
    for name in presets:
        try:
            loaded = load_preset(name, overrides)
        except PresetError as exc:
            problems.append(str(exc))
            continue
        warn(loaded)
        p = loaded.preset
        click.echo(
            f"{name}: ok ({p.name}: {p.backbone.name} on {p.data.source}, "
            f"{p.schedule.epochs} epochs)"
        )
    if problems:
        raise BadInput("\n".join(problems))


@click.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to FILE instead of standard output.",
)
def schema(output: Path | None) -> None:
    """Print the JSON Schema of presets (for editors' YAML language servers).

    Point a preset at it with a first line such as
    `# yaml-language-server: $schema=../preset.schema.json`.
    """
    text = json.dumps(preset_schema(), indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    if not output.parent.is_dir():
        raise BadInput(f"{output}: folder {output.parent} does not exist")
    write_text_atomic(output, text)
    click.echo(f"wrote {output}", err=True)


@click.command()
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@set_option
def diff(a: str, b: str, overrides: tuple[str, ...]) -> None:
    """Show field-level differences between presets A and B, defaults filled in.

    --set overrides apply to B (what would change if I ran B with them?).
    """
    left = load_or_exit(a)
    right = load_or_exit(b, overrides)
    changes = preset_diff(left.preset, right.preset)
    if not changes:
        click.echo(f"no differences between {a} and {b}")
        return
    click.echo(click.style(f"--- {a}\n+++ {b}", bold=True))
    width = max(len(c.field) for c in changes)
    for change in changes:
        before, after = str(change).split(": ", 1)[1].split(" → ", 1)
        click.echo(
            f"{change.field:<{width}}  {click.style(before, fg='red')} → "
            f"{click.style(after, fg='green')}"
        )
