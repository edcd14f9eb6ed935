"""A run, live or finished: curves, batch loss, progress, schedule, best checkpoint, log tail.

A worker thread tails the run directory (`RunFeed`) and posts what is new at most a few times a
second; the screen folds the events into a `RunHistory` and redraws. The run itself is another
process: closing this screen, or the app, leaves it training.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer
from textual.worker import get_current_worker

from hw3tui.preset import Preset, PresetError, load_preset
from hw3tui.runs import RunDir, RunState
from hw3tui.runs.history import RunHistory
from hw3tui.runs.status import Status
from hw3tui.runs.summary import decide_state
from hw3tui.tui.feed import FeedUpdate, RunFeed
from hw3tui.tui.paths import shown_path
from hw3tui.tui.screens.choice import ChoiceScreen, confirm_cancel
from hw3tui.tui.watch import ProcessWatch, Shown
from hw3tui.tui.widgets.batch_loss import BatchLoss
from hw3tui.tui.widgets.best_panel import BestPanel
from hw3tui.tui.widgets.curves import Curves, Series
from hw3tui.tui.widgets.log_tail import LogTail
from hw3tui.tui.widgets.run_header import RunHeader
from hw3tui.tui.widgets.run_progress import RunProgress
from hw3tui.tui.widgets.schedule_now import ScheduleNow
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    from hw3tui.tui.app import Hw3tuiApp

POLL_SECONDS = 0.25
"""How often the run's files are read: at most four redraws a second, whatever the engine does."""


class RunScreen(ProcessWatch):
    """Watches one run directory."""

    DEFAULT_CSS = """
    RunScreen #body {
        height: 1fr;
    }
    RunScreen #charts {
        width: 1fr;
    }
    RunScreen #side {
        width: 38;
        padding: 0 1;
        border-left: solid $primary 40%;
    }
    RunScreen #side > * {
        margin-bottom: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "cancel_run", "Cancel run"),
        Binding("d", "compare", "Compare"),
        Binding("v", "evaluate", "Evaluate"),
        Binding("e", "edit", "Preset"),
        Binding("escape,backspace", "back", "Back"),
    ]

    class Fed(Message):
        """New events, log lines or status from the run's files."""

        def __init__(self, update: FeedUpdate) -> None:
            super().__init__()
            self.update = update

    class PresetRead(Message):
        def __init__(self, preset: Preset | None) -> None:
            super().__init__()
            self.preset = preset

    CANCEL_ACTION = "cancel_run"
    NOT_RUNNING = "This run is not running."

    def __init__(self, run: RunDir) -> None:
        super().__init__()
        self.run = run
        self.history = RunHistory()
        self.preset: Preset | None = None
        self.status: Status | None = None
        self.status_problem: str | None = None
        self.polled = False
        """The run's files were read once (until then it shows as starting)."""
        self.live = False
        self.reading_preset = False
        self.skipped = 0
        """Lines of events.jsonl skipped (said in the header, and once as a notification)."""

    @property
    def hw3(self) -> Hw3tuiApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        with Horizontal(id="body"):
            with Vertical(id="charts"):
                yield Curves("loss", id="loss")
                yield Curves("accuracy", id="acc")
                yield BatchLoss(id="batch-loss")
            with Vertical(id="side"):
                yield RunProgress(id="progress")
                yield ScheduleNow(id="schedule")
                yield BestPanel(id="best")
        yield LogTail(id="log")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(LogTail).border_title = shown_path(self.run.log_file)
        self.redraw()
        self._read_preset()
        self._follow()

    # ---- feeding ---------------------------------------------------------------------------

    def _read_preset(self) -> None:
        if not self.reading_preset:
            self.reading_preset = True
            self._read_preset_file()

    @work(thread=True, group="read-preset")
    def _read_preset_file(self) -> None:
        try:
            preset: Preset | None = load_preset(self.run.preset_file).preset
        except PresetError:
            preset = None  # not written yet (a run just launched), or not a preset
        self.post_message(self.PresetRead(preset))

    @work(thread=True, exclusive=True, group="follow")
    def _follow(self) -> None:
        worker = get_current_worker()
        feed = RunFeed(self.run)
        while not worker.is_cancelled:
            update = feed.poll()
            if update:
                self.post_message(self.Fed(update))
            worker.cancelled_event.wait(POLL_SECONDS)

    @on(PresetRead)
    def _preset_read(self, message: PresetRead) -> None:
        self.reading_preset = False
        self.preset = message.preset
        self.redraw()

    @on(Fed)
    def _fed(self, message: Fed) -> None:
        update = message.update
        self.history.extend(update.events)
        if update.log_lines:
            self.query_one(LogTail).add(update.log_lines)
        self.live = update.live
        if update.status_changed:
            self.status, self.status_problem = update.status, update.status_problem
            self.polled = True
        if update.skipped_changed:
            if not self.skipped:
                self.notify(
                    f"{printable(self.run.name)}: events.jsonl has lines that are not events "
                    "(not JSON, NaN, Infinity, a wrong type): skipped.",
                    severity="warning",
                )
            self.skipped = update.skipped
        if self.preset is None and (update.events or update.status is not None):
            self._read_preset()  # the engine writes preset.yaml when it starts
        self.settle()
        self.redraw()

    # ---- drawing ---------------------------------------------------------------------------

    def observed(self) -> Shown:
        live = self.live or self.hw3.launcher.live(self.run)
        if self.status is None:
            code = self.hw3.launcher.exit_code(self.run)
            if code is not None:
                return Shown(RunState.FAILED_TO_START, f"exit {code}; see the log")
            if live or not self.polled:
                return Shown(RunState.STARTING)
        # the rule `hw3tui runs` and the home list follow: no readable status is `unknown`
        state, reason = decide_state(self.status, self.status_problem, live=live)
        return Shown(state, reason if state is RunState.UNKNOWN else None)

    @property
    def planned_epochs(self) -> int | None:
        if self.status is not None and self.status.epochs is not None:
            return self.status.epochs
        if self.history.epochs_planned:
            return self.history.epochs_planned
        return self.preset.schedule.epochs if self.preset is not None else None

    def redraw(self) -> None:
        history = self.history
        planned = self.planned_epochs
        if history.epochs_planned is None and planned is not None:
            history.epochs_planned = planned
        state = self.state
        detail = []
        if self.preset is not None:
            detail.append(f"{self.preset.backbone.name} on {self.preset.data.source}")
        if history.device:
            detail.append(history.device)
        if history.classes:
            detail.append(f"{len(history.classes)} classes")
        if self.skipped:
            lines = "line" if self.skipped == 1 else "lines"
            detail.append(f"{self.skipped} {lines} of events.jsonl skipped")
        live = state.live
        self.query_one(RunHeader).show(self.run.name, state, " · ".join(detail))
        self.query_one("#loss", Curves).plot(
            [
                Series("train", *history.series("train_loss")),
                Series("val", *history.series("val_loss")),
            ]
        )
        self.query_one("#acc", Curves).plot(
            [
                Series("train", *history.series("train_acc")),
                Series("val", *history.series("val_acc")),
            ]
        )
        self.query_one(BatchLoss).show(list(history.batch_losses), history.current_epoch)
        self.query_one(RunProgress).show(history, planned, running=live)
        self.query_one(ScheduleNow).show(history, self.preset)
        self.query_one(BestPanel).show(history, self.run.path)
        self.refresh_bindings()

    # ---- actions ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # a live run offers cancel, an ended one evaluate: the footer fits 80 columns either way
        if action == "evaluate":  # the best checkpoint of an ended run
            if self.state.live:
                return False
            return True if self._evaluable else None
        return super().check_action(action, parameters)

    @property
    def _evaluable(self) -> bool:
        ended = not self.state.live
        return ended and bool(self.history.best or (self.status is not None and self.status.best))

    def action_evaluate(self) -> None:
        if not self._evaluable:
            self.notify("Evaluate a run once it has ended with a checkpoint.", severity="warning")
            return
        from hw3tui.tui.screens.evaluation import EvalScreen

        self.app.push_screen(EvalScreen(self.run))

    def action_cancel_run(self) -> None:
        self.ask_to_stop()

    def confirm_stop(self) -> ChoiceScreen:
        return confirm_cancel(self.run.name)

    def stop_process(self) -> bool:
        return self.hw3.cancel_run(self.run.path)

    def action_compare(self) -> None:
        self.hw3.pick_and_compare(self.run.path)

    def action_edit(self) -> None:
        self.hw3.open_run_preset(self.run.path)

    def action_back(self) -> None:
        self.dismiss()
