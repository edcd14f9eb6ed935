"""The findings view (`f`) on the run and sweep screens, and `w`: the report as a child process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input
from tui_fakes import write_run
from tui_pilot import run, text_of, wait_for
from tui_sweep_fakes import write_sweep

from hw3tui.runs import RunDir
from hw3tui.tui import control
from hw3tui.tui.app import Hw3tuiApp
from hw3tui.tui.screens.findings import FindingsScreen
from hw3tui.tui.screens.path_prompt import PathPrompt
from hw3tui.tui.screens.run import RunScreen
from hw3tui.tui.screens.sweep import SweepScreen

SIZE = (100, 34)


class ReportLaunches:
    """Stands in for `launch_detached`: records the command, runs a child that prints `out` to
    the log and exits with `code` (as `hw3tui report` would)."""

    def __init__(self, *, code: int = 0, out: str = "") -> None:
        self.code, self.out = code, out
        self.started: list[list[str]] = []
        self.children: list[subprocess.Popen[bytes]] = []

    def __call__(self, args: list[str], run: RunDir, **_: Any) -> subprocess.Popen[bytes]:
        self.started.append(list(args))
        run.path.mkdir(parents=True, exist_ok=True)
        run.log_file.write_text(self.out)
        child = subprocess.Popen([sys.executable, "-c", f"raise SystemExit({self.code})"])
        self.children.append(child)
        return child


def findings_text(app: Hw3tuiApp) -> str:
    screen = app.screen
    assert isinstance(screen, FindingsScreen)
    return text_of(screen.query_one("#findings"))


def test_the_run_screens_findings_view_shows_its_findings_escaped(runs_dir: Path) -> None:
    run_dir = write_run(runs_dir, "tiny-[red]x-20260101-000000", epochs=4)

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            app.open_run(run_dir.path)
            await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
            await pilot.press("f")
            await wait_for(pilot, lambda: "Which epoch is kept" in findings_text(app))
            shown = findings_text(app)
            assert (
                "The best val acc, 0.7000, came at the last epoch, 3 (counting from 0) of 4 "
                "planned: keeping the best epoch gained nothing over the last."
            ) in " ".join(shown.split())
            assert "tiny-[red]x-20260101-000000" in shown  # a name, not markup
            assert "Too few epochs to tell overfitting" in shown
            assert "Per class" in shown  # says where the evaluated findings are
            await pilot.press("f")
            await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))

    run(scenario())


def test_the_sweep_screens_findings_view_covers_its_trials(isolated: Path) -> None:
    folder = write_sweep(isolated / "sweeps")

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            app.open_sweep(folder.path)
            await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))
            await pilot.press("f")
            await wait_for(pilot, lambda: "Which epoch is kept" in findings_text(app))
            shown = findings_text(app)
            for trial in ("trial-000", "trial-001", "trial-002"):
                assert trial in shown
            assert "The best val acc, 0.8500, came at the last epoch" in " ".join(shown.split())

    run(scenario())


def test_w_asks_where_then_launches_the_report_and_says_where_it_went(
    runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = write_run(runs_dir, "tiny-20260101-000000", epochs=4)
    launches = ReportLaunches(out="wrote report-tiny-20260101-000000/report.md (1 run)\n")
    monkeypatch.setattr(control, "launch_detached", launches)

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            app.open_run(run_dir.path)
            await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
            await pilot.press("w")
            await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt))
            entry = app.screen.query_one(Input)
            assert entry.value == "report-tiny-20260101-000000"
            await pilot.press("enter")
            await wait_for(pilot, lambda: launches.started != [], what="the report")
            assert launches.started == [
                ["report", str(run_dir.path), "-o", "report-tiny-20260101-000000"]
            ]
            assert isinstance(app.screen, RunScreen)
            await wait_for(
                pilot,
                lambda: any(
                    "report-tiny-20260101-000000/report.md" in n.message
                    and n.severity == "information"
                    and "written" in n.message
                    for n in app._notifications
                ),
                what="the report's destination",
            )

    run(scenario())


def test_a_refused_report_shows_its_one_line_error(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_sweep(isolated / "sweeps")
    launches = ReportLaunches(
        code=2, out="error: -o mine: not empty and not written by hw3tui report\n"
    )
    monkeypatch.setattr(control, "launch_detached", launches)

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            app.open_sweep(folder.path)
            await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))
            await pilot.press("w")
            await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt))
            entry = app.screen.query_one(Input)
            assert entry.value == f"report-{folder.name}"
            entry.value = "mine"
            await pilot.press("enter")
            await wait_for(pilot, lambda: launches.started != [], what="the report")
            assert launches.started == [["report", str(folder.path), "-o", "mine"]]
            await wait_for(
                pilot,
                lambda: any(
                    n.severity == "error"
                    and "-o mine: not empty and not written by hw3tui report" in n.message
                    for n in app._notifications
                ),
                what="the error",
            )

    run(scenario())
