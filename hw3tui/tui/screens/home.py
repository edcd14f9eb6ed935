"""The first screen: presets to edit and run, runs and sweeps (live ones marked and updating).

It draws before any preset is read: presets and runs are listed by worker threads, which is also
where the preset models are first imported (a few hundred milliseconds, off the first screen).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static
from textual.worker import get_current_worker

from hw3tui.console.run_rows import RunRow
from hw3tui.tui.paths import shown_path
from hw3tui.tui.screens.choice import confirm_cancel, confirm_cancel_sweep
from hw3tui.tui.widgets.presets_table import PresetsTable
from hw3tui.tui.widgets.runs_table import RunsTable
from hw3tui.tui.widgets.sweeps_table import SweepsTable
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    from hw3tui.sweeps.folder import SweepSummary
    from hw3tui.tui.app import Hw3tuiApp
    from hw3tui.tui.catalog import PresetEntry

RUNS_POLL_SECONDS = 1.0


class HomeScreen(Screen[None]):
    """Presets above, runs below."""

    DEFAULT_CSS = """
    HomeScreen #where {
        height: 1;
        background: $boost;
        padding: 0 1;
    }
    HomeScreen .heading {
        padding: 0 1;
        text-style: bold;
        color: $accent;
    }
    HomeScreen #presets {
        height: 2fr;
    }
    HomeScreen #runs {
        height: 3fr;
    }
    HomeScreen #sweeps {
        height: auto;
        max-height: 7;
    }
    HomeScreen .no-sweeps #sweeps, HomeScreen .no-sweeps #sweeps-heading {
        display: none;
    }
    HomeScreen #no-runs {
        padding: 0 2;
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit", "Edit"),
        Binding("r", "run", "Run"),
        Binding("c", "cancel_run", "Cancel"),
        Binding("d", "compare", "Compare"),
        Binding("s", "sweep", "Sweep"),
        Binding("w", "report", "Report"),
        Binding("a", "ablate", "Ablate", show=False),  # in the help (?): the footer is full at 80
        Binding("o", "open_file", "Open file", show=False),
    ]

    class PresetsListed(Message):
        def __init__(self, entries: list[PresetEntry]) -> None:
            super().__init__()
            self.entries = entries

    class RunsListed(Message):
        def __init__(self, rows: list[RunRow]) -> None:
            super().__init__()
            self.rows = rows

    class SweepsListed(Message):
        def __init__(self, sweeps: list[SweepSummary]) -> None:
            super().__init__()
            self.sweeps = sweeps

    @property
    def hw3(self) -> Hw3tuiApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        app = self.hw3
        yield Static(
            f"[b]hw3tui[/]  presets: {escape(shown_path(app.presets_dir))}/  "
            f"runs: {escape(shown_path(app.runs_dir))}/",
            id="where",
        )
        yield Label("Presets", classes="heading")
        yield PresetsTable(id="presets")
        yield Label("Runs", classes="heading")
        yield RunsTable(id="runs")
        yield Static("No runs yet: highlight a preset and press r.", id="no-runs")
        yield Label("Sweeps", classes="heading", id="sweeps-heading")
        yield SweepsTable(id="sweeps")
        yield Footer()

    def on_mount(self) -> None:
        self.add_class("no-sweeps")
        self.query_one(PresetsTable).focus()
        self.reload_presets()
        self._watch_runs()

    def on_screen_resume(self) -> None:
        self.reload_presets()

    # ---- data ------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="presets")
    def reload_presets(self) -> None:
        self.post_message(self.PresetsListed(self.hw3.preset_entries()))

    @work(thread=True, exclusive=True, group="runs")
    def _watch_runs(self) -> None:
        worker = get_current_worker()
        shown: list[RunRow] | None = None
        sweeps_shown: list[SweepSummary] | None = None
        while not worker.is_cancelled:
            rows = self.hw3.run_rows()
            if rows != shown:
                self.post_message(self.RunsListed(rows))
                shown = rows
            sweeps = self.hw3.sweep_summaries()
            if sweeps != sweeps_shown:
                self.post_message(self.SweepsListed(sweeps))
                sweeps_shown = sweeps
            worker.cancelled_event.wait(RUNS_POLL_SECONDS)

    def refresh_runs_now(self) -> None:
        self.post_message(self.RunsListed(self.hw3.run_rows()))

    @on(PresetsListed)
    def _presets_listed(self, message: PresetsListed) -> None:
        self.query_one(PresetsTable).show(message.entries)
        self.refresh_bindings()

    @on(RunsListed)
    def _runs_listed(self, message: RunsListed) -> None:
        self.query_one(RunsTable).show(message.rows)
        self.query_one("#no-runs").display = not message.rows
        self.refresh_bindings()

    @on(SweepsListed)
    def _sweeps_listed(self, message: SweepsListed) -> None:
        self.query_one(SweepsTable).show(message.sweeps)
        self.set_class(not message.sweeps, "no-sweeps")
        self.refresh_bindings()

    # ---- what is highlighted ---------------------------------------------------------------

    @property
    def in_runs(self) -> bool:
        return self.focused is self.query_one(RunsTable)

    @property
    def in_sweeps(self) -> bool:
        return self.focused is self.query_one(SweepsTable)

    @property
    def preset(self) -> PresetEntry | None:
        if self.in_runs or self.in_sweeps:
            return None
        return self.query_one(PresetsTable).highlighted

    @property
    def sweep(self) -> SweepSummary | None:
        return self.query_one(SweepsTable).highlighted if self.in_sweeps else None

    @property
    def run(self) -> RunRow | None:
        return self.query_one(RunsTable).highlighted if self.in_runs else None

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_run":
            if self.in_sweeps:
                sweep = self.sweep
                return True if sweep is not None and sweep.state.live else None
            run = self.run
            return True if run is not None and run.live else None
        if action == "sweep":
            return True if self.preset is not None else None
        if action == "report":  # of a run or sweep that has ended, as on their screens
            row, sweep = self.run, self.sweep
            if row is not None:
                return None if row.live else True
            return None if sweep is None or sweep.state.live else True
        if action in ("edit", "run"):
            return True if (self.preset or self.run) is not None else None
        if action == "compare":
            if self.in_runs:
                return True if len(self.query_one(RunsTable).rows_shown) >= 2 else None
            return True if self.preset is not None else None
        return True

    # ---- actions ---------------------------------------------------------------------------

    @on(DataTable.RowSelected)
    def _opened(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if isinstance(event.data_table, RunsTable):
            run = event.data_table.highlighted
            if run is not None:
                self.hw3.open_run(run.path)
        elif isinstance(event.data_table, SweepsTable):
            sweep = event.data_table.highlighted
            if sweep is not None:
                self.hw3.open_sweep(sweep.path)
        else:
            self.action_edit()

    def action_edit(self) -> None:
        if self.in_runs:
            run = self.run
            if run is not None:
                self.hw3.open_run_preset(run.path)
            return
        entry = self.preset
        if entry is not None:
            self.hw3.edit_preset(entry.path, builtin=entry.builtin)

    def action_run(self) -> None:
        if self.in_runs:
            run = self.run
            if run is not None:
                self.hw3.launch(run.path / "preset.yaml")
            return
        entry = self._valid_preset(quietly=True)
        if entry is not None:
            self.hw3.launch(entry.path)

    def action_cancel_run(self) -> None:
        if self.in_sweeps:
            self._cancel_sweep()
            return
        row = self.run
        if row is None or not row.live:
            self.notify("Highlight a live run (●) to cancel it.", severity="warning")
            return

        def answered(answer: str | None) -> None:
            if answer == "yes":
                self.hw3.cancel_run(row.path)

        self.app.push_screen(confirm_cancel(row.name), answered)

    def _cancel_sweep(self) -> None:
        sweep = self.sweep
        if sweep is None or not sweep.state.live:
            self.notify("Highlight a running sweep (●) to cancel it.", severity="warning")
            return
        path = sweep.path

        def answered(answer: str | None) -> None:
            if answer == "yes":
                self.hw3.cancel_sweep(path)

        self.app.push_screen(confirm_cancel_sweep(sweep.name), answered)

    def action_sweep(self) -> None:
        entry = self._valid_preset(quietly=False)
        if entry is not None:
            self.hw3.new_sweep(entry)

    def action_ablate(self) -> None:
        entry = self._valid_preset(quietly=False)
        if entry is not None:
            self.hw3.new_ablation(entry)

    def _valid_preset(self, *, quietly: bool) -> PresetEntry | None:
        """The highlighted preset when it is valid; else None, having said why."""
        entry = self.preset
        if entry is None:
            if not quietly:
                self.notify("Highlight a preset to sweep it.", severity="warning")
            return None
        if entry.preset is None:
            problem = printable(entry.problem or "")
            self.notify(
                f"{entry.shown} has problems; press enter to fix them.\n{problem}",
                severity="error",
            )
            return None
        return entry

    def action_compare(self) -> None:
        if self.in_runs:
            row = self.run
            if row is not None:
                self.hw3.pick_and_compare(row.path)
            return
        entry = self.preset
        if entry is not None:
            self.hw3.pick_and_diff(entry)

    def action_report(self) -> None:
        row, sweep = self.run, self.sweep
        if row is not None and not row.live:
            self.hw3.write_report([row.path], row.name)
        elif sweep is not None and not sweep.state.live:
            self.hw3.write_report([sweep.path], sweep.name)
        else:
            self.notify("Highlight a run or a sweep that has ended.", severity="warning")

    def action_open_file(self) -> None:
        self.hw3.ask_open_file()
