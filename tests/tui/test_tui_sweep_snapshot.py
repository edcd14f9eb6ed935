"""SVG snapshot of the sweep screen at 80×24, on a sweep folder written by the test.

After an intended change of look: `pytest tests/tui/test_tui_sweep_snapshot.py --snapshot-update`,
then review the SVG in tests/tui/__snapshots__/ before committing it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from tui_pilot import wait_for
from tui_sweep_fakes import write_sweep

from hw3tui.tui.app import Hw3tuiApp
from hw3tui.tui.widgets.curves import Curves
from hw3tui.tui.widgets.leaderboard_table import LeaderboardTable


def test_sweep_screen(snap_compare: Any, isolated: Path) -> None:
    folder = write_sweep(isolated / "sweeps")

    async def open_sweep(pilot: Pilot[Any]) -> None:
        app: Hw3tuiApp = pilot.app  # type: ignore[assignment]
        app.open_sweep(folder.path)
        await wait_for(pilot, lambda: app.screen.query(LeaderboardTable))
        board = app.screen.query_one(LeaderboardTable)
        await wait_for(pilot, lambda: board.row_count == 4)
        await wait_for(pilot, lambda: len(app.screen.query_one(Curves).series) == 3)
        await pilot.pause()

    assert snap_compare(Hw3tuiApp(), terminal_size=(80, 24), run_before=open_sweep)
