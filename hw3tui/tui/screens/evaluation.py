"""A run's best checkpoint evaluated on its own val set: accuracy, per class, confusion matrix.

The evaluation is `hw3tui eval RUN --json` in a child process, like a run: the model is never
built in the app's process (torch would take seconds to import and hold the UI's thread), and
closing the screen stops the child. The tables are the CLI's own (`results_view.eval_view`).
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import LoadingIndicator, Static
from textual.worker import get_current_worker

from hw3tui.results.eval_report import EvalReport
from hw3tui.runs import RunDir, hw3tui_command
from hw3tui.tui.screens.dialog import Dialog
from hw3tui.untrusted import printable


class EvalScreen(Dialog[None]):
    """Runs `hw3tui eval` on one run and shows what it prints."""

    DEFAULT_CSS = """
    EvalScreen > VerticalScroll {
        width: 96;
        max-width: 100%;
        max-height: 100%;
        padding: 0 1;
    }
    EvalScreen #title {
        text-style: bold;
        padding-bottom: 1;
    }
    EvalScreen LoadingIndicator {
        height: 3;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,v", "close", "Close")]

    class Done(Message):
        """The child finished: its report, or the one-line reason it could not evaluate."""

        def __init__(self, report: EvalReport | None, problem: str) -> None:
            super().__init__()
            self.report = report
            self.problem = problem

    def __init__(self, run: RunDir) -> None:
        super().__init__()
        self.run = run
        self.report: EvalReport | None = None
        self.problem = ""
        self.shown_name = printable(run.name)
        self._child: subprocess.Popen[bytes] | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(f"Evaluating {_escape(self.shown_name)} on its val set…", id="title")
            yield LoadingIndicator()
            yield Static("", id="result")

    def on_mount(self) -> None:
        self._evaluate()

    @work(thread=True, exclusive=True, group="eval")
    def _evaluate(self) -> None:
        worker = get_current_worker()
        env = {**os.environ, "NO_COLOR": "1"}
        try:
            child = subprocess.Popen(
                [*hw3tui_command(), "eval", str(self.run.path), "--json"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
        except OSError as exc:
            self.post_message(self.Done(None, f"could not start hw3tui eval: {exc}"))
            return
        self._child = child
        out, err = child.communicate()
        if worker.is_cancelled:
            return
        self.post_message(self.Done(*_read(child.returncode, out, err)))

    @on(Done)
    def _done(self, message: Done) -> None:
        self.report, self.problem = message.report, message.problem
        self.query_one(LoadingIndicator).display = False
        title = self.query_one("#title", Static)
        result = self.query_one("#result", Static)
        if message.report is None:
            title.update(f"{_escape(self.shown_name)}: not evaluated")
            result.update(f"[red]{_escape(message.problem)}[/]")
            return
        from hw3tui.console.results_view import eval_view

        title.update(f"{_escape(self.shown_name)}: its best checkpoint on its val set")
        result.update(eval_view(message.report))

    def on_unmount(self) -> None:
        child = self._child
        if child is not None and child.poll() is None:
            child.terminate()

    def action_close(self) -> None:
        self.dismiss()


def _read(code: int, out: bytes, err: bytes) -> tuple[EvalReport | None, str]:
    if code == 0:
        try:
            return EvalReport.from_json(json.loads(out)), ""
        except ValueError as exc:
            return None, f"hw3tui eval printed something unexpected ({exc})"
    lines = [line for line in err.decode(errors="replace").splitlines() if line.strip()]
    problem = lines[-1] if lines else f"hw3tui eval exited with {code}"
    return None, printable(problem.removeprefix("error: "))


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
