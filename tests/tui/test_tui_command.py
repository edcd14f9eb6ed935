"""`hw3tui tui` / bare `hw3tui`: bad input exits 2 before any screen; the app's first screen
needs neither torch nor the preset models (they load behind it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hw3tui.cli import cli


def test_missing_presets_dir_is_bad_input() -> None:
    result = CliRunner().invoke(cli, ["--presets-dir", "nowhere"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: --presets-dir nowhere: no such folder"


def test_missing_preset_file_is_bad_input() -> None:
    result = CliRunner().invoke(cli, ["tui", "missing.yaml"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: missing.yaml: no such preset file"


def test_runs_dir_that_is_a_file_is_bad_input(isolated: Path) -> None:
    (isolated / "runs").write_text("not a folder")
    result = CliRunner().invoke(cli, ["tui", "--runs-dir", "runs"])
    assert result.exit_code == 2
    assert "'--runs-dir': Directory 'runs' is a file" in result.output


def test_first_screen_imports_neither_torch_nor_the_preset_models(
    subprocess_env: dict[str, str],
) -> None:
    code = (
        "import sys, hw3tui.cli, hw3tui.commands.tui, hw3tui.tui.app\n"
        "heavy = ('torch', 'torchvision', 'hw3tui.preset.models')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env, check=True
    )
    assert result.stdout.strip() == "[]"


def test_an_app_that_dies_of_an_exception_exits_non_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    """Textual catches the exception, prints it and returns: the command must not exit 0."""
    from hw3tui.tui.app import Hw3tuiApp
    from hw3tui.tui.screens.home import HomeScreen

    def broken(self: HomeScreen) -> None:
        raise RuntimeError("a bug in a screen")

    run = Hw3tuiApp.run
    monkeypatch.setattr(HomeScreen, "on_mount", broken)
    monkeypatch.setattr(Hw3tuiApp, "run", lambda self: run(self, headless=True))
    result = CliRunner().invoke(cli, ["tui"])
    assert result.exit_code == 1, result.output
