"""The keys of every screen, and what the app does with runs."""

from __future__ import annotations

from typing import ClassVar

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from hw3tui.tui.screens.dialog import Dialog

KEYS: tuple[tuple[str, str, str], ...] = (
    ("everywhere", "?", "this help"),
    ("", "q, ctrl+q", "quit (asks about unsaved edits and live runs)"),
    ("", "tab, shift+tab", "next / previous table or field"),
    ("home", "enter", "open the highlighted preset (editor) or run (run screen)"),
    ("", "e", "edit the preset (a run's preset opens read-only)"),
    ("", "r", "run the highlighted preset (or a run's preset again)"),
    ("", "c", "cancel the highlighted live run or running sweep (●)"),
    ("", "d", "compare the highlighted run with another (a preset: diff)"),
    ("", "o", "open a preset file by its path"),
    ("", "s", "sweep the preset: pick fields and values, start it"),
    ("", "w", "write the highlighted ended run's or sweep's report (hw3tui report)"),
    ("", "a", "ablate the preset: each choice it makes turned off, one run each"),
    ("editor", "ctrl+s, F2", "save, save as (the file's comments are kept)"),
    ("", "ctrl+d", "diff against the file on disk or another preset"),
    ("", "ctrl+r", "run this preset"),
    ("", "ctrl+l", "find an lr (hw3tui lr-find on the preset as edited); a applies it"),
    ("", "esc", "back (asks when there are unsaved edits)"),
    ("run", "c", "cancel the run (it saves its state; hw3tui resume continues it)"),
    ("", "d, e", "compare with another run; the run's preset"),
    ("", "v", "evaluate an ended run's best checkpoint on its val set"),
    ("", "f", "findings: what the run shows, in sentences (as hw3tui findings)"),
    ("", "w", "write the ended run's report into a folder you confirm (hw3tui report)"),
    ("compare", "m", "accuracy or loss"),
    ("", "f, w", "the two runs' findings; write their report"),
    ("sweep", "enter, t", "open the highlighted trial's run screen; the running trial's"),
    ("", "s, S", "sort the leaderboard by the next column; reverse the order"),
    ("", "c", "cancel the sweep (running trials save; r or hw3tui sweep resume continues)"),
    ("", "r", "resume a stopped sweep (hw3tui sweep resume, output in its log.txt)"),
    ("", "f, w", "the sweep's findings (trials, configs, ablation); an ended sweep's report"),
    ("new sweep", "ctrl+s", "write the sweep file next to the preset and start it"),
    ("ablation", "space", "keep or leave out the highlighted variant"),
    ("", "ctrl+s", "start hw3tui ablate with the checked variants"),
)

ABOUT = (
    "Runs and sweeps are separate processes (hw3tui run / hw3tui sweep, output in the folder's "
    "log.txt): quitting the app or losing the terminal leaves them training. Reopen hw3tui to "
    "watch them again. The mouse works too: click a row twice to open it, a column's header "
    "to sort by it, a key in the footer."
)


class HelpScreen(Dialog[None]):
    """Keys and a word on how runs work."""

    DEFAULT_CSS = """
    HelpScreen > VerticalScroll {
        width: 86;
        max-width: 100%;
        max-height: 100%;
        padding: 0 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        table = Table(box=box.SIMPLE_HEAD, expand=True, padding=(0, 1), show_edge=False)
        table.add_column("where", style="bold")
        table.add_column("key", style="bold")
        table.add_column("does", ratio=1)
        for where, key, does in KEYS:
            table.add_row(where, key, does)
        with VerticalScroll():
            yield Static(Group(table, Text(ABOUT, style="dim")))

    def action_close(self) -> None:
        self.dismiss()
