"""The keys of every screen, and what the app does with runs."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# hw3tui keys

| where | key | does |
|---|---|---|
| everywhere | `?` | this help |
| | `q` / `ctrl+q` | quit (asks about unsaved edits and live runs) |
| | `tab` / `shift+tab` | next / previous panel or field |
| home | `enter` | open the highlighted preset (editor) or run (run screen) |
| | `e` | edit the preset (a run's preset opens read-only) |
| | `r` | run the highlighted preset (or run a run's preset again) |
| | `c` | cancel the highlighted live run |
| | `d` | compare the highlighted run with another (presets: diff) |
| | `o` | open a preset file by path |
| editor | `ctrl+s` / `F2` | save / save as (comments are kept) |
| | `ctrl+d` | diff against the file on disk or another preset |
| | `ctrl+r` | run this preset |
| | `esc` | back (asks when there are unsaved edits) |
| run | `c` | cancel the run (it saves its state; `hw3tui resume` continues) |
| | `d` | compare with another run |
| | `e` | the run's preset |
| compare | `m` | accuracy / loss |

Runs are separate processes (`hw3tui run`, output in the run's `log.txt`): quitting the app, or
losing the terminal, leaves them training. Reopen the app to watch them again.
"""


class HelpScreen(ModalScreen[None]):
    """Keys and a word on how runs work."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 84;
        max-width: 100%;
        height: 90%;
        border: thick $primary 80%;
        background: $surface;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(HELP)

    def action_close(self) -> None:
        self.dismiss()
