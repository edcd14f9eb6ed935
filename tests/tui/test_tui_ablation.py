"""An ablation on the TUI: its sweep screen shows ablation.csv; `a` on a preset plans one."""

from __future__ import annotations

from pathlib import Path

from tui_pilot import run, wait_for
from tui_sweep_fakes import write_sweep

from hw3tui.tui.app import Hw3tuiApp
from hw3tui.tui.widgets.ablation_table import AblationTable

SIZE = (110, 40)
TABLE = """choice,variant,n,mean,std,delta,low,high,verdict
full preset,as is,3,0.8,0.01,,,,reference
augment.horizontal_flip,augment.horizontal_flip off,3,0.7,0.01,-0.1,-0.13,-0.07,worse
checkpoint: best epoch,"last epoch, not the best",3,0.79,0.01,-0.01,-0.03,0.01,within noise
"""


def test_an_ablations_sweep_screen_shows_its_table(isolated: Path) -> None:
    folder = write_sweep(isolated / "sweeps")
    (folder.path / "ablation.csv").write_text(TABLE.replace("as is", "as is\x1b[31m"))

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            app.open_sweep(folder.path)
            await wait_for(pilot, lambda: app.screen.query(AblationTable))
            table = app.screen.query_one(AblationTable)
            await wait_for(pilot, lambda: table.row_count == 3, what="the ablation table")
            assert table.display
            rows = [[str(c) for c in table.get_row_at(i)] for i in range(3)]
            assert rows[0][:2] == ["full preset", "as is\\x1b[31m"]  # data, escaped
            assert [r[-1] for r in rows] == ["reference", "worse", "within noise"]
            assert rows[1][5:8] == ["-0.1", "-0.13", "-0.07"]

    run(scenario())


def test_another_sweeps_screen_has_no_ablation_table(isolated: Path) -> None:
    folder = write_sweep(isolated / "sweeps")

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            app.open_sweep(folder.path)
            await wait_for(pilot, lambda: app.screen.query(AblationTable))
            await pilot.pause(0.6)
            assert not app.screen.query_one(AblationTable).display

    run(scenario())
