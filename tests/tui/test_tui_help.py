"""The help screen lists every key a screen's footer offers."""

from __future__ import annotations

import pytest
from textual.binding import Binding
from textual.screen import Screen

from hw3tui.tui.screens.ablation_dialog import AblationDialog
from hw3tui.tui.screens.compare import CompareScreen
from hw3tui.tui.screens.editor import EditorScreen
from hw3tui.tui.screens.help import KEYS
from hw3tui.tui.screens.home import HomeScreen
from hw3tui.tui.screens.run import RunScreen
from hw3tui.tui.screens.sweep import SweepScreen
from hw3tui.tui.screens.sweep_dialog import SweepDialog

BACK = {"escape", "backspace"}
"""Said once, as `esc` (back), on every screen."""


def keys_in_help(where: str) -> set[str]:
    """The keys the help lists under `where` (its rows up to the next section's)."""
    found: set[str] = set()
    section = ""
    for row_where, keys, _ in KEYS:
        section = row_where or section
        if section == where:
            found.update(key.lower() for key in keys.split(", "))
    return found


@pytest.mark.parametrize(
    ("screen", "where"),
    [
        (HomeScreen, "home"),
        (EditorScreen, "editor"),
        (RunScreen, "run"),
        (CompareScreen, "compare"),
        (SweepScreen, "sweep"),
        (SweepDialog, "new sweep"),
        (AblationDialog, "ablation"),
    ],
)
def test_help_lists_every_key_of_each_screen(screen: type[Screen[object]], where: str) -> None:
    listed = keys_in_help(where)
    for binding in screen.BINDINGS:
        assert isinstance(binding, Binding)
        for key in set(binding.key.split(",")) - BACK:
            assert key.lower() in listed, f"{where}: {key} ({binding.description})"
