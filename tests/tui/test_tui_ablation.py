"""An ablation on the TUI: its sweep screen shows ablation.csv; `a` on a preset plans one."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import SelectionList
from tui_fakes import TINY
from tui_pilot import run, text_of, wait_for
from tui_sweep_fakes import Launches, write_sweep

from hw3tui.tui import control
from hw3tui.tui.app import Hw3tuiApp
from hw3tui.tui.screens.ablation_dialog import AblationDialog
from hw3tui.tui.screens.sweep import SweepScreen
from hw3tui.tui.widgets.ablation_table import AblationTable
from hw3tui.tui.widgets.presets_table import PresetsTable

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
            assert rows[0][:3] == ["full preset (as is\\x1b[31m)", "3", "0.800 ± 0.010"]
            # the difference and its interval's half-width (t intervals are symmetric)
            assert rows[1] == [
                "augment.horizontal_flip off",
                "3",
                "0.700 ± 0.010",
                "-0.100 ± 0.030",
                "worse",
            ]
            assert [r[-1] for r in rows] == ["reference", "worse", "within noise"]

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


def test_a_on_a_preset_lists_its_variants_plans_and_starts_hw3tui_ablate(
    presets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tiny with a crop too: two variants, flip off and crop off
    (presets_dir / "tiny.yaml").write_text(
        TINY.read_text().replace("horizontal_flip: 0.5", "horizontal_flip: 0.5\n  random_crop: {}")
    )
    launches = Launches()
    monkeypatch.setattr(control, "launch_detached", launches)

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            table = app.screen.query_one(PresetsTable)
            await wait_for(pilot, lambda: table.row_count == 2)
            table.move_cursor(row=table.get_row_index(str((presets_dir / "tiny.yaml").resolve())))
            await pilot.press("a")
            await wait_for(pilot, lambda: isinstance(app.screen, AblationDialog))
            dialog = app.screen
            choices = dialog.query_one(SelectionList)
            labels = [str(choices.get_option_at_index(i).prompt) for i in range(2)]
            assert labels == ["augment.horizontal_flip off", "augment.random_crop off"]
            plan = dialog.query_one("#plan")
            assert "9 runs, estimated time unknown" in text_of(plan)  # 3 configurations, 3 seeds
            await pilot.press("space")  # the highlighted variant (flip) off
            await wait_for(pilot, lambda: "6 runs" in text_of(plan), what="the plan updated")
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: bool(launches.started), what="the ablation started")
            ((args, folder),) = launches.started
            assert args[:4] == ["ablate", str((presets_dir / "tiny.yaml").resolve()), "-n", "3"]
            assert args[args.index("--skip") + 1] == "augment.horizontal_flip"
            assert args[-2:] == ["--sweep-dir", str(folder)]
            assert folder.name.startswith("tiny-ablation-")
            await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))
        launches.close()

    run(scenario())


def test_an_ablation_the_cli_refuses_makes_no_sweep_folder(
    presets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preset was made invalid after the dialog opened: `hw3tui ablate`'s own check refuses
    it before the TUI makes anything (one line, an error notification), nothing starts."""
    launches = Launches()
    monkeypatch.setattr(control, "launch_detached", launches)
    preset = presets_dir / "tiny.yaml"
    preset.write_text(preset.read_text().replace("epochs: 2", "epochs: 0"))

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            app.start_ablation(str(preset.resolve()), "tiny", 3, ())
            await wait_for(pilot, lambda: app.screen.query("Toast"), what="a notification")
            [shown] = [str(toast.render()) for toast in app.screen.query("Toast")]
            title, message = shown.split("\n", 1)
            assert title == "Ablation not started"
            assert "schedule.epochs" in message and "\n" not in message
            assert not isinstance(app.screen, SweepScreen)

    run(scenario())
    assert not launches.started
    assert not Path("sweeps").exists() or not any(Path("sweeps").iterdir())
