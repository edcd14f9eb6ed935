"""The hw3tui app: where the presets and runs are, which screen shows what, and quitting.

Kept thin: screens do the showing, `Launcher` starts and stops child processes, `catalog` and
`hw3tui.runs` read the disk. Everything that needs the preset models (a few hundred milliseconds
to import) is imported where it is first used, so the home screen appears at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen

from hw3tui.errors import BadInput, one_line
from hw3tui.tui.paths import shown_path
from hw3tui.tui.screens.choice import Choice, ChoiceScreen
from hw3tui.tui.screens.home import HomeScreen
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    from typing import ClassVar

    from textual.notifications import SeverityLevel

    from hw3tui.console.run_rows import RunRow
    from hw3tui.runs import RunDir
    from hw3tui.sweeps.file import LoadedSweep
    from hw3tui.sweeps.folder import SweepSummary
    from hw3tui.tui.catalog import PresetEntry
    from hw3tui.tui.control import Launcher
    from hw3tui.tui.document import PresetDocument

REAP_SECONDS = 2.0
REPORT_NOTICE_SECONDS = 30.0
"""A report ends while the user looks elsewhere: where it went stays on screen a while."""

T = TypeVar("T")


class Hw3tuiApp(App[None]):
    """Edit presets, launch runs, watch them, compare them."""

    TITLE = "hw3tui"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        *,
        presets_dir: Path = Path("presets"),
        runs_dir: Path = Path("runs"),
        sweeps_dir: Path = Path("sweeps"),
        opened: Sequence[Path] = (),
    ) -> None:
        super().__init__()
        self.presets_dir = presets_dir
        self.runs_dir = runs_dir
        self.sweeps_dir = sweeps_dir
        self.opened: list[Path] = list(opened)
        self._launcher: Launcher | None = None
        self._launcher_lock = threading.Lock()

    @property
    def launcher(self) -> Launcher:
        """The children this app started; made on first use (by the UI or a worker thread)."""
        with self._launcher_lock:
            if self._launcher is None:
                from hw3tui.tui.control import Launcher

                self._launcher = Launcher(self.runs_dir)
            return self._launcher

    def on_mount(self) -> None:
        self.push_screen(HomeScreen())
        self.set_interval(REAP_SECONDS, self._reap)

    def _reap(self) -> None:
        self.launcher.reap()
        for child, code, problem in self.launcher.ended_reports():
            if code == 0:
                self.notify(
                    f"The report of {printable(child.what)} is written: "
                    f"{shown_path(child.out / 'report.md')}",
                    title="Report",
                    timeout=REPORT_NOTICE_SECONDS,
                )
            else:
                self.notify(
                    problem,
                    title="Report not written",
                    severity="error",
                    timeout=REPORT_NOTICE_SECONDS,
                )

    # ---- reading (also called from worker threads) -----------------------------------------

    def preset_entries(self) -> list[PresetEntry]:
        from hw3tui.tui.catalog import catalog

        return catalog(self.presets_dir, list(self.opened))

    def run_rows(self) -> list[RunRow]:
        """Every run on disk, newest first, after runs whose engine is still starting."""
        from hw3tui.console.run_rows import RunRow
        from hw3tui.runs import list_runs

        starting = [RunRow.starting(run.path) for run in self.launcher.starting()]
        # a child that has written its preset.yaml but no status.json yet is listed by both
        keys = {row.key for row in starting}
        listed = [RunRow.of(s) for s in list_runs(self.runs_dir)]
        return [*starting, *(row for row in listed if row.key not in keys)]

    def sweep_summaries(self) -> list[SweepSummary]:
        """Every sweep under the sweeps folder, newest first (read without Optuna)."""
        from hw3tui.sweeps.folder import list_sweeps

        return list_sweeps(self.sweeps_dir)

    # ---- bad input, caught here once ----------------------------------------------------------

    def attempt(self, action: Callable[[], T], *, title: str) -> T | None:
        """`action()`, or None when it met bad input: where a user's action (open, run) that
        meets the `hw3tui.errors.BadInput` family is caught, as the CLI's group catches it for
        every command (exit 2). The user sees one line in an error notification (`refusal`) and
        the app goes on; any other exception is a bug and is not caught here. (Checks whose
        problems are the answer, the editor's and the sweep dialog's, show them inline.)"""
        try:
            return action()
        except BadInput as exc:
            self.notify(refusal(exc), title=title, severity="error")
            return None

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification of the app is plain text: it names runs, sweeps, presets and their
        problems, anyone's text, where `[b]` is part of a name, not bold. `markup` is ignored:
        a screen's `notify` passes Textual's default (True) on to here."""
        del markup
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # ---- opening screens -------------------------------------------------------------------

    def _document(self, path: Path, *, source: str, read_only: bool) -> PresetDocument | None:
        from hw3tui.tui.document import PresetDocument

        return self.attempt(
            lambda: PresetDocument.open(path, source=source, read_only=read_only),
            title="Not opened",
        )

    def edit_preset(self, path: Path, *, builtin: bool = False) -> None:
        from hw3tui.tui.screens.editor import EditorScreen

        shown = path.name if builtin else shown_path(path)
        document = self._document(path, source=shown, read_only=builtin)
        if document is not None:
            self.push_screen(EditorScreen(document))

    def open_run(self, run_path: Path) -> None:
        from hw3tui.runs import RunDir
        from hw3tui.tui.screens.run import RunScreen

        self.push_screen(RunScreen(RunDir(run_path)))

    def open_run_preset(self, run_path: Path) -> None:
        """A run's frozen preset, read-only (save as makes a new preset of it)."""
        from hw3tui.tui.screens.editor import EditorScreen

        preset_file = run_path / "preset.yaml"
        if not preset_file.is_file():
            self.notify(f"{printable(run_path.name)} has no preset.yaml.", severity="error")
            return
        document = self._document(preset_file, source=shown_path(preset_file), read_only=True)
        if document is not None:
            self.push_screen(EditorScreen(document))

    def launch(self, preset_file: Path) -> RunDir | None:
        """Start a run of `preset_file` as a detached child and show it."""
        from hw3tui.preset import load_preset
        from hw3tui.tui.screens.run import RunScreen

        preset = self.attempt(lambda: load_preset(preset_file).preset, title="Not started")
        if preset is None:
            return None
        try:
            run = self.launcher.launch(preset_file, preset.name)
        except OSError as exc:
            self.notify(f"Could not start the run: {exc}", severity="error")
            return None
        self.push_screen(RunScreen(run))
        return run

    def cancel_run(self, run_path: Path) -> bool:
        """SIGINT a live run (it finishes its batch, saves, and ends as cancelled)."""
        from hw3tui.runs import RunDir

        run = RunDir(run_path)
        if self.launcher.cancel(run):
            self.notify(f"Stopping {printable(run.name)}: it finishes its batch and saves.")
            return True
        self.notify(f"{printable(run.name)} is not running any more.", severity="warning")
        return False

    # ---- sweeps: always `hw3tui sweep` processes, never run in the app --------------------

    def open_sweep(self, folder: Path) -> None:
        from hw3tui.tui.screens.sweep import SweepScreen

        self.push_screen(SweepScreen(folder))

    def new_sweep(self, entry: PresetEntry) -> None:
        """The sweep dialog on a preset; the file it writes is started at once."""
        from hw3tui.tui.screens.sweep_dialog import SweepDialog, SweepPlan

        name = entry.preset.name if entry.preset is not None else entry.path.stem
        if entry.builtin:  # written into the presets folder, naming the built-in preset
            dialog = SweepDialog(self.presets_dir / entry.path.name, name, builtin=entry.path.stem)
        else:
            dialog = SweepDialog(entry.path, name)

        def written(plan: SweepPlan | None) -> None:
            if plan is not None:
                self.start_sweep(plan.path, plan.name)

        self.push_screen(dialog, written)

    def new_ablation(self, entry: PresetEntry) -> None:
        """The ablation dialog on a valid preset; what it plans is started at once."""
        from hw3tui.tui.screens.ablation_dialog import AblationDialog, AblationRequest

        if entry.preset is None:
            return
        preset = entry.preset
        dialog = AblationDialog(preset, entry.shown, self.runs_dir)
        source = entry.path.stem if entry.builtin else str(entry.path.resolve())

        def answered(request: AblationRequest | None) -> None:
            if request is not None:
                self.start_ablation(source, preset.name, request.seeds, request.skip)

        self.push_screen(dialog, answered)

    def start_ablation(self, preset: str, name: str, seeds: int, skip: tuple[str, ...]) -> None:
        """Start `hw3tui ablate PRESET -n N --sweep-dir DIR` detached (DIR/log.txt) and show it,
        once the ablation passes that command's own checks: refused, nothing is made."""
        args = ["ablate", preset, "-n", str(seeds), "--runs-dir", str(self.runs_dir)]
        args += [a for field in skip for a in ("--skip", field)]
        check = partial(checked_ablation, preset, seeds, skip)
        self._start_new_sweep(check, f"{name[:55]}-ablation", args, "ablation")

    def start_sweep(self, sweep_file: Path, name: str) -> None:
        """Start `hw3tui sweep FILE --sweep-dir DIR` detached (output in DIR/log.txt) and show
        it, once FILE passes that command's own checks: refused, nothing is made."""
        check = partial(checked_sweep, sweep_file)
        self._start_new_sweep(check, name, ["sweep", str(sweep_file)], "sweep")

    @work(thread=True, group="new-sweep")
    def _start_new_sweep(
        self, check: Callable[[], object], name: str, args: list[str], what: str
    ) -> None:
        """`check()` first, in a thread (a storage's database server may take seconds to answer):
        its refusal is one error notification and no folder; passed, the sweep folder is made
        and `hw3tui ARGS --sweep-dir DIR` started in it."""
        if self.attempt(check, title=f"{what.capitalize()} not started") is not None:
            self.call_from_thread(self._start_in_new_folder, name, args, what)

    def _start_in_new_folder(self, name: str, args: list[str], what: str) -> None:
        from hw3tui.sweeps.folder import SweepDir

        try:
            folder = SweepDir.create(self.sweeps_dir, name).path
            self.launcher.start_sweep([*args, "--sweep-dir", str(folder)], folder)
        except OSError as exc:
            self.notify(f"Could not start the {what}: {exc}", severity="error")
            return
        self.open_sweep(folder)

    def resume_sweep(self, folder: Path) -> bool:
        """`hw3tui sweep resume DIR` detached: finished trials stay, the others continue."""
        try:
            self.launcher.start_sweep(["sweep", "resume", str(folder)], folder)
        except OSError as exc:
            self.notify(f"Could not resume the sweep: {exc}", severity="error")
            return False
        self.notify(
            f"Resuming {printable(folder.name)} (its output: {shown_path(folder / 'log.txt')})."
        )
        return True

    def cancel_sweep(self, folder: Path) -> bool:
        """SIGINT the sweep's workers: running trials save and stay resumable."""
        if self.launcher.cancel_sweep(folder):
            self.notify(
                f"Stopping {printable(folder.name)}: "
                "its running trials finish their batch and save."
            )
            return True
        self.notify(f"{printable(folder.name)} is not running here any more.", severity="warning")
        return False

    # ---- reports: `hw3tui report` processes (the report evaluates with torch) ---------------

    def write_report(self, targets: Sequence[Path], name: str) -> None:
        """Ask where (default `report-NAME`), then start `hw3tui report TARGET... -o DIR`
        detached; a notification says where it went, or its one-line error."""
        from hw3tui.tui.screens.path_prompt import PathPrompt

        def confirmed(out: Path | None) -> None:
            if out is None:
                return
            try:
                self.launcher.start_report(targets, out, name)
            except OSError as exc:
                self.notify(f"Could not start hw3tui report: {exc}", severity="error")
                return
            self.notify(f"Writing the report of {printable(name)} to {shown_path(out)}/ …")

        self.push_screen(
            PathPrompt(
                f"Write the report of {printable(name)} into the folder",
                f"report-{printable(name)}",
                _check_report_folder,
                "A new folder, an empty one or an earlier report's: only files a report wrote "
                "are replaced. hw3tui report runs in the background (it evaluates each best "
                "checkpoint).",
            ),
            confirmed,
        )

    def pick_and_compare(self, run_path: Path) -> None:
        from hw3tui.runs import RunDir
        from hw3tui.tui.screens.compare import CompareScreen
        from hw3tui.tui.screens.pick import PickScreen

        others = [r for r in self.run_rows() if r.path.resolve() != run_path.resolve()]
        if not others:
            self.notify("There is no other run to compare with.", severity="warning")
            return

        def picked(key: str | None) -> None:
            if key is not None:
                self.push_screen(CompareScreen(RunDir(run_path), RunDir(Path(key))))

        self.push_screen(
            PickScreen(
                f"Compare {printable(run_path.name)} with",
                [(str(r.path), f"{r.name}  {r.state}  {r.best}") for r in others],
            ),
            picked,
        )

    def pick_and_diff(self, entry: PresetEntry) -> None:
        from hw3tui.tui.screens.diff import DiffScreen

        document = self._document(entry.path, source=entry.shown, read_only=True)
        if document is not None:
            self.push_screen(DiffScreen(document, self.preset_entries(), against_preset=True))

    def ask_open_file(self) -> None:
        from hw3tui.tui.screens.path_prompt import PathPrompt

        def opened(path: Path | None) -> None:
            if path is None:
                return
            if path not in self.opened:
                self.opened.append(path)
            self.edit_preset(path)

        self.push_screen(PathPrompt("Open a preset file", "", _check_existing_preset), opened)

    def preset_saved(self, path: Path) -> None:
        """A preset was written: list it (files outside the presets folder are added)."""
        if path.resolve().parent != self.presets_dir.resolve() and path not in self.opened:
            self.opened.append(path)

    # ---- help and quitting -----------------------------------------------------------------

    def action_help(self) -> None:
        from hw3tui.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # while a dialog is open, answer it first
        return not (action in ("quit", "help") and isinstance(self.screen, ModalScreen))

    async def action_quit(self) -> None:
        self._quit()

    @work(exclusive=True, group="quit")
    async def _quit(self) -> None:
        from hw3tui.tui.screens.editor import EditorScreen

        for screen in reversed(self.screen_stack):
            if isinstance(screen, EditorScreen) and not await screen.may_leave():
                return
        live = [row for row in self.run_rows() if row.live]
        if live:
            names = ", ".join(row.name for row in live[:3]) + (" …" if len(live) > 3 else "")
            count = len(live)
            answer = await self.push_screen_wait(
                ChoiceScreen(
                    f"{count} run{'s are' if count != 1 else ' is'} still training: {names}",
                    [
                        Choice("leave", "Leave running", "l", "primary"),
                        Choice("stop", f"Stop {'them' if count != 1 else 'it'}", "s", "error"),
                        Choice("back", "Back", "b"),
                    ],
                    "Left running, a run carries on without the app (reopen hw3tui to watch "
                    "it). Stopped, it saves its state and can be resumed.",
                )
            )
            if answer not in ("leave", "stop"):
                return
            if answer == "stop":
                for row in live:
                    self.cancel_run(row.path)
        self.exit()


def refusal(exc: BadInput) -> str:
    """Bad input as one line a person reads: the first problem, escaped (a path or a name in
    it is anyone's text), and how many more there are (a preset's problems are one a line;
    `hw3tui validate` and the editor list them all)."""
    more = len(str(exc).strip().splitlines()) - 1
    line = printable(one_line(exc))
    return f"{line} (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else line


def checked_sweep(sweep_file: Path) -> LoadedSweep:
    """A sweep file as `hw3tui sweep FILE` checks it before it makes anything (`BadInput`)."""
    from hw3tui.sweeps.file import load_sweep
    from hw3tui.sweeps.new import ready

    return ready(load_sweep(sweep_file), base=sweep_file.parent)[0]


def checked_ablation(preset: str, seeds: int, skip: tuple[str, ...]) -> LoadedSweep:
    """An ablation as `hw3tui ablate PRESET -n N --skip ...` checks it before it makes anything."""
    from hw3tui.preset import load_preset
    from hw3tui.sweeps.ablation import ablation_sweep
    from hw3tui.sweeps.new import ready

    sweep, _ = ablation_sweep(preset, load_preset(preset), seeds=seeds, skip=skip)
    return ready(sweep, base=Path.cwd())[0]


def _check_report_folder(path: Path) -> str | None:
    # the rest (not the current folder, not inside a run, ...) is hw3tui report's to refuse
    if path.exists() and not path.is_dir():
        return f"{path}: is a file; name a folder"
    return None


def _check_existing_preset(path: Path) -> str | None:
    if not path.is_file():
        return f"{path}: no such file"
    return None
