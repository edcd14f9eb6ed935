"""A sweep, live or ended: its leaderboard, every trial's val-acc curve, and the sweep's log.

A worker thread reads the sweep folder (`SweepFeed`) a couple of times a second. The sweep is
another process (`hw3tui sweep`, started by this app or in another terminal): this screen reads
its files, `c` SIGINTs its workers and `r` starts `hw3tui sweep resume DIR` detached.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Footer
from textual.worker import get_current_worker

from hw3tui.runs import RunState
from hw3tui.sweeps.folder import SweepDir
from hw3tui.tui.paths import shown_path
from hw3tui.tui.screens.choice import ChoiceScreen, confirm_cancel_sweep
from hw3tui.tui.sweep_feed import SweepFeed, SweepView, TrialView
from hw3tui.tui.watch import ProcessWatch, Shown
from hw3tui.tui.widgets.ablation_table import AblationTable
from hw3tui.tui.widgets.curves import Curves, Series
from hw3tui.tui.widgets.leaderboard_table import LeaderboardTable
from hw3tui.tui.widgets.log_tail import LogTail
from hw3tui.tui.widgets.run_header import RunHeader

if TYPE_CHECKING:
    from hw3tui.tui.app import Hw3tuiApp

POLL_SECONDS = 0.5


class SweepScreen(ProcessWatch):
    """Watches one sweep folder."""

    DEFAULT_CSS = """
    SweepScreen LeaderboardTable {
        height: auto;
        max-height: 50%;
    }
    SweepScreen Curves {
        height: 1fr;
        min-height: 7;
    }
    SweepScreen LogTail {
        height: 5;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "open_running", "Running"),
        Binding("c", "cancel_sweep", "Cancel"),
        Binding("r", "resume_sweep", "Resume"),
        Binding("f", "findings", "Findings"),
        Binding("w", "report", "Report"),
        Binding("escape,backspace", "back", "Back"),
    ]

    class Fed(Message):
        def __init__(self, view: SweepView) -> None:
            super().__init__()
            self.view = view

    CANCEL_ACTION = "cancel_sweep"
    NOT_RUNNING = "This sweep is not running."

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = SweepDir(folder)
        self.view: SweepView | None = None

    @property
    def hw3(self) -> Hw3tuiApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        yield AblationTable(id="ablation")
        yield LeaderboardTable(id="leaderboard")
        yield Curves("val acc of every trial", empty="no finished epochs yet", id="curves")
        yield LogTail(id="log")
        yield Footer()

    def on_mount(self) -> None:
        log = self.query_one(LogTail)
        log.border_title = shown_path(self.folder.path / "log.txt")
        log.display = False  # until the sweep's log has a line (a sweep started elsewhere has none)
        self.query_one(AblationTable).display = False  # until the sweep has an ablation.csv
        self.query_one(LeaderboardTable).focus()
        self.redraw()
        self._follow()

    @work(thread=True, exclusive=True, group="follow-sweep")
    def _follow(self) -> None:
        worker = get_current_worker()
        feed = SweepFeed(self.folder)
        last: SweepView | None = None
        last_alive: bool | None = None
        while not worker.is_cancelled:
            view = feed.poll()
            # a sweep process this app started can end without a file changing (a bad file)
            alive = self.hw3.launcher.sweep_alive(self.folder.path)
            if not view.same_as(last) or alive != last_alive:
                self.post_message(self.Fed(view))
                last, last_alive = view, alive
            worker.cancelled_event.wait(POLL_SECONDS)

    @on(Fed)
    def _fed(self, message: Fed) -> None:
        view = message.view
        if view.log_lines:
            log = self.query_one(LogTail)
            log.add(view.log_lines)
            log.display = True
        self.view = view
        self.settle()
        self.redraw()

    # ---- drawing ---------------------------------------------------------------------------

    def observed(self) -> Shown:
        summary = self.view.summary if self.view is not None else None
        if summary is None:
            code = self.hw3.launcher.sweep_exit_code(self.folder.path)
            if code is not None:
                return Shown(RunState.FAILED_TO_START, f"exit {code}; see the log")
            ours = self.folder.path.resolve() in self.hw3.launcher.sweeps
            return Shown(RunState.STARTING if ours else None)
        if summary.state is not RunState.RUNNING and self.hw3.launcher.sweep_alive(
            self.folder.path
        ):
            return Shown(RunState.STARTING)  # resumed: the worker has not taken its lock yet
        return Shown(summary.state)

    def redraw(self) -> None:
        view = self.view
        state = self.state
        summary = view.summary if view is not None else None
        detail = ""
        if summary is not None:
            detail = f"{summary.ended}/{summary.planned} trials"
            best = view.trials[0] if view is not None and view.trials else None  # live ranking
            config = view.configs[0] if view is not None and view.configs else None
            if config is not None and config.spread.mean is not None:
                detail += f" · best mean {config.spread.mean:.4f} (config {config.config})"
            elif best is not None and best.value is not None:
                detail += f" · best {best.value:.4f} (trial {best.trial})"
        self.query_one(RunHeader).show(self.folder.name, state, detail)
        if view is not None:
            monitor = summary.monitor if summary is not None else "value"
            self.query_one(LeaderboardTable).show(view.trials, view.axes, monitor, view.configs)
            self.query_one(AblationTable).show(view.ablation)
            series = [
                Series(f"#{trial}", xs, ys) for trial, (xs, ys) in sorted(view.curves.items()) if xs
            ]
            self.query_one(Curves).plot(series)
        self.refresh_bindings()

    # ---- actions ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # a running sweep offers cancel and its running trial, a stopped one resume: the footer
        # fits 80 columns either way
        if action == "resume_sweep":
            return self._resumable
        if action == "open_running":
            return self.running_trial is not None
        return super().check_action(action, parameters)

    @property
    def _resumable(self) -> bool:
        """Stopped (by a cancel, or its workers died): `hw3tui sweep resume` continues it."""
        state = self.state.state
        return state is not None and state.resumable

    @property
    def running_trial(self) -> TrialView | None:
        """The best running trial (the first of several running at once, in leaderboard order)."""
        running = [t for t in (self.view.trials if self.view else []) if t.state == "running"]
        return running[0] if running else None

    @on(DataTable.RowSelected)
    def _open_trial(self, event: DataTable.RowSelected) -> None:
        event.stop()
        trial = self.query_one(LeaderboardTable).highlighted
        if trial is None:
            return
        run = self.folder.path / trial.row.run
        if not run.is_dir():
            self.notify(f"Trial {trial.trial} has not started yet.", severity="warning")
            return
        self.hw3.open_run(run)

    def action_open_running(self) -> None:
        trial = self.running_trial
        if trial is None:
            self.notify("No trial is running.", severity="warning")
            return
        self.hw3.open_run(self.folder.path / trial.row.run)

    def action_cancel_sweep(self) -> None:
        self.ask_to_stop()

    def confirm_stop(self) -> ChoiceScreen:
        return confirm_cancel_sweep(self.folder.name)

    def stop_process(self) -> bool:
        return self.hw3.cancel_sweep(self.folder.path)

    def action_resume_sweep(self) -> None:
        if not self._resumable:
            self.notify("Only a stopped sweep can be resumed.", severity="warning")
            return
        if self.hw3.resume_sweep(self.folder.path):
            self.redraw()

    def action_findings(self) -> None:
        from hw3tui.tui.screens.findings import FindingsScreen

        self.app.push_screen(FindingsScreen.of_sweep(self.folder.path))

    def action_report(self) -> None:
        self.hw3.write_report([self.folder.path], self.folder.name)

    def action_back(self) -> None:
        self.dismiss()
