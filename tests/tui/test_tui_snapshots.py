"""SVG snapshots of the home, editor, run and compare screens at 80×24, on fixed data (no clocks).

After an intended change of look: `pytest tests/tui/test_tui_snapshots.py --snapshot-update`,
then review the SVGs in tests/tui/__snapshots__/ before committing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from tui_fakes import STARTED, write_run
from tui_pilot import wait_for

from hw3tui.runs import RunDir
from hw3tui.tui.app import Hw3tuiApp
from hw3tui.tui.screens.compare import CompareScreen
from hw3tui.tui.screens.editor import EditorScreen
from hw3tui.tui.screens.run import RunScreen
from hw3tui.tui.widgets.presets_table import PresetsTable
from hw3tui.tui.widgets.runs_table import RunsTable

SIZE = (80, 24)


def two_runs(runs_dir: Path) -> None:
    write_run(runs_dir, "tiny-20260101-000000", epochs=4)
    write_run(
        runs_dir, "tiny-20260101-010000", epochs=6, done=3, state="cancelled", start=STARTED + 3600
    )


async def home_ready(pilot: Pilot[Any]) -> None:
    await wait_for(pilot, lambda: pilot.app.screen.query_one(PresetsTable).row_count == 2)
    await wait_for(pilot, lambda: len(pilot.app.screen.query_one(RunsTable).rows_shown) == 2)
    await pilot.pause()


def test_home_screen(snap_compare: Any, presets_dir: Path, runs_dir: Path) -> None:
    two_runs(runs_dir)
    assert snap_compare(Hw3tuiApp(), terminal_size=SIZE, run_before=home_ready)


def test_editor_screen_with_an_inline_error(
    snap_compare: Any, presets_dir: Path, runs_dir: Path
) -> None:
    (presets_dir / "tiny.yaml").write_text(
        (presets_dir / "tiny.yaml").read_text().replace("epochs: 2", "epochs: 0")
    )

    async def open_schedule(pilot: Pilot[Any]) -> None:
        app: Hw3tuiApp = pilot.app  # type: ignore[assignment]
        app.edit_preset(presets_dir / "tiny.yaml")
        await wait_for(pilot, lambda: isinstance(app.screen, EditorScreen))
        for _ in range(6):  # General → Data, Backbone, Optimizer, Augment, Loss → Schedule
            await pilot.press("down")
        await pilot.pause()

    assert snap_compare(Hw3tuiApp(), terminal_size=SIZE, run_before=open_schedule)


def test_run_screen(snap_compare: Any, presets_dir: Path, runs_dir: Path) -> None:
    write_run(runs_dir, "tiny-20260101-000000", epochs=4, log="training on cpu\nepoch 3 done\n")

    async def open_run(pilot: Pilot[Any]) -> None:
        app: Hw3tuiApp = pilot.app  # type: ignore[assignment]
        app.open_run(runs_dir / "tiny-20260101-000000")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        screen: RunScreen = app.screen  # type: ignore[assignment]
        await wait_for(pilot, lambda: screen.history.epochs_done == 4 and screen.preset)
        await wait_for(pilot, lambda: screen.query_one("#log").line_count == 2)  # type: ignore[attr-defined]
        await pilot.pause()

    assert snap_compare(Hw3tuiApp(), terminal_size=SIZE, run_before=open_run)


def test_compare_screen(snap_compare: Any, runs_dir: Path) -> None:
    """Both checkpoint paths on screen, shortened at their front (`…/`), none cut at the edge."""
    write_run(runs_dir, "tiny-20260101-000000", epochs=4)
    write_run(runs_dir, "tiny-lr-0.01-20260101-010000", epochs=4, start=STARTED + 3600)

    async def open_compare(pilot: Pilot[Any]) -> None:
        app: Hw3tuiApp = pilot.app  # type: ignore[assignment]
        a, b = (
            RunDir(runs_dir / n) for n in ("tiny-20260101-000000", "tiny-lr-0.01-20260101-010000")
        )
        app.push_screen(CompareScreen(a, b))
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        screen: CompareScreen = app.screen  # type: ignore[assignment]
        await wait_for(pilot, lambda: screen.comparison is not None)
        await pilot.pause()

    assert snap_compare(Hw3tuiApp(), terminal_size=SIZE, run_before=open_compare)
