"""The README is the user's door: its two set-up commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def shell_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", text, flags=re.S)]


def test_readme_has_the_two_setup_commands_first() -> None:
    blocks = shell_blocks((REPO / "README.md").read_text())
    run, test = blocks[0], blocks[1]
    assert run.startswith("python3 -m venv .venv && ")
    assert run.endswith("hw3tui run presets/quickstart.yaml")
    assert test.startswith("python3 -m venv .venv && ")
    assert "/python -m pytest" in test  # options may follow (-n auto: every core)


def test_ci_runs_the_readme_test_command() -> None:
    test_command = shell_blocks((REPO / "README.md").read_text())[1]
    ci = (REPO / ".ci" / "run").read_text()
    block = ci.split("# >>> the README's test command", 1)[1].split("# <<<", 1)[0]
    assert [line for line in block.splitlines()[1:] if line.strip()] == [test_command]


def test_presets_folder_is_the_packaged_presets() -> None:
    assert (REPO / "presets").resolve() == (REPO / "hw3tui" / "presets").resolve()
    assert {p.name for p in (REPO / "presets").glob("*.yaml")} >= {
        "quickstart.yaml",
        "mobilenetv2.yaml",
        "resnet50.yaml",
    }


def test_preset_reference_is_current() -> None:
    from hw3tui.preset.reference import reference

    readme = (REPO / "README.md").read_text()
    assert reference() in readme, "regenerate: python -m hw3tui.preset.reference"


def test_command_line_section_lists_every_command_and_option() -> None:
    """A command or option added to the CLI but missing from the README's summary fails here."""
    from click.testing import CliRunner

    from hw3tui.cli import COMMANDS, cli

    readme = (REPO / "README.md").read_text()
    section = readme.split("## Command line", 1)[1].split("\n## ", 1)[0]
    for name in COMMANDS:
        assert re.search(rf"`?hw3tui {name}\b", section), name
    for name, flag in [("run", "--gpus"), ("run", "--nproc"), ("predict", "--tta")]:
        help_text = CliRunner().invoke(cli, [name, "--help"]).output
        assert flag in help_text and flag in section, (name, flag)
