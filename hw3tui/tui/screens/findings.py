"""What runs show, in sentences: the findings `hw3tui findings` prints, for a run or a sweep.

Read from the run folders (events, status.json, a sweep's configs.csv and ablation.csv) by a
worker thread, without an evaluation: the per-class findings need the best checkpoint run on the
val set, which takes torch, and the app never imports it (`v` evaluates in a child; `hw3tui
findings` and the report, `w`, include them). Every text is someone else's (run names, class
names, preset values): shown as plain `Text`, control characters escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from hw3tui.errors import BadInput, one_line
from hw3tui.runs import RunDir, find_run
from hw3tui.sweeps.folder import SweepDir
from hw3tui.tui.screens.dialog import Dialog
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    from hw3tui.results.findings import Finding

PER_CLASS = (
    "Per class findings need the best checkpoint evaluated on its val set: v on an ended "
    "run's screen shows the evaluation; hw3tui findings and the report (w) include them."
)


class FindingsScreen(Dialog[None]):
    """The findings about `runs` and `sweeps`, by section, in the homework's order."""

    DEFAULT_CSS = """
    FindingsScreen > VerticalScroll {
        width: 100;
        max-width: 100%;
        max-height: 100%;
        padding: 0 1;
    }
    FindingsScreen #title {
        text-style: bold;
        padding-bottom: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,f", "close", "Close")]

    class Found(Message):
        """The findings, or the one line saying why there are none (an unreadable folder)."""

        def __init__(self, findings: list[Finding], problem: str = "") -> None:
            super().__init__()
            self.findings = findings
            self.problem = problem

    def __init__(self, title: str, runs: Sequence[RunDir], sweeps: Sequence[Path] = ()) -> None:
        super().__init__()
        self.title_text = title
        self.runs = list(runs)
        self.sweeps = list(sweeps)
        self.findings: list[Finding] | None = None

    @classmethod
    def of_sweep(cls, folder: Path) -> FindingsScreen:
        """A sweep's findings: its trials' runs (those started so far) and its tables."""
        trials = SweepDir(folder).runs_dir  # sweep.yaml's `runs`, maybe shared
        found = [find_run(p) for p in sorted(trials.iterdir())] if trials.is_dir() else []
        return cls(folder.name, [r for r in found if r is not None], [folder])

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(f"Findings: {printable(self.title_text)}"), id="title")
            yield Static(Text("reading…", style="dim"), id="findings")

    def on_mount(self) -> None:
        self._find()

    @work(thread=True, exclusive=True, group="findings")
    def _find(self) -> None:
        from hw3tui.results.findings import findings_of

        try:
            found = self.Found(findings_of(self.runs, self.sweeps))
        except BadInput as exc:
            found = self.Found([], one_line(exc))
        self.post_message(found)

    @on(Found)
    def _found(self, message: Found) -> None:
        self.findings = message.findings
        shown = self.query_one("#findings", Static)
        if message.problem:
            shown.update(Text(f"No findings: {printable(message.problem)}", style="red"))
            return
        shown.update(findings_view(message.findings))

    def action_close(self) -> None:
        self.dismiss()


def findings_view(findings: Sequence[Finding]) -> Text:
    """A heading per section, then `subject: sentence` per finding (as `hw3tui findings`)."""
    from hw3tui.results.findings import by_section

    view = Text()
    if not findings:
        view.append("No findings yet (no finished epoch).\n\n")
    for section, listed in by_section(findings):
        view.append(f"{printable(section)}\n", style="bold")
        for finding in listed:
            view.append("  ")
            view.append(printable(finding.subject), style="bold")
            view.append(f": {printable(finding.sentence)}\n")
        view.append("\n")
    view.append(PER_CLASS, style="dim")
    return view
