"""Home, run and compare screens on run directories written by the tests (no training)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import COMMENTED
from textual.widgets import Button, DataTable
from tui_fakes import STARTED, tiny_text, write_run
from tui_pilot import run, text_of, wait_for

from hw3tui.runs.events import Best
from hw3tui.runs.status import Status
from hw3tui.tui.app import Hw3tuiApp
from hw3tui.tui.screens.choice import ChoiceScreen
from hw3tui.tui.screens.compare import CompareScreen
from hw3tui.tui.screens.home import HomeScreen
from hw3tui.tui.screens.pick import PickScreen
from hw3tui.tui.screens.run import RunScreen
from hw3tui.tui.widgets.best_panel import BestPanel
from hw3tui.tui.widgets.curves import Curves
from hw3tui.tui.widgets.log_tail import LogTail
from hw3tui.tui.widgets.presets_table import PresetsTable
from hw3tui.tui.widgets.run_header import RunHeader
from hw3tui.tui.widgets.run_progress import RunProgress
from hw3tui.tui.widgets.runs_table import RunsTable

SIZE = (100, 34)


def runs_table(app: Hw3tuiApp) -> RunsTable:
    return app.screen.query_one(RunsTable)


def row_text(table: RunsTable, name: str) -> list[str]:
    for row in table.rows_shown.values():
        if row.name == name:
            return [str(c) for c in table.get_row(row.key)]
    raise AssertionError(f"{name} not listed")


def test_home_lists_runs_with_state_best_val_acc_and_epochs(runs_dir: Path) -> None:
    write_run(runs_dir, "tiny-20260101-000000", epochs=4)
    write_run(
        runs_dir, "tiny-20260101-010000", epochs=6, done=3, state="cancelled", start=STARTED + 3600
    )

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: len(runs_table(app).rows_shown) == 2)
            done = row_text(runs_table(app), "tiny-20260101-000000")
            assert done[1:4] == ["✓ done", "0.700 (ep 3)", "4/4"]
            assert done[4] == "48s"
            cancelled = row_text(runs_table(app), "tiny-20260101-010000")
            assert cancelled[1:4] == ["■ cancelled", "0.600 (ep 2)", "3/6"]
            # newest first
            names = [r.name for r in runs_table(app).rows_shown.values()]
            assert names[0].endswith("010000")

    run(scenario())


def test_live_run_is_marked_and_its_row_updates(runs_dir: Path) -> None:
    live = write_run(runs_dir, "tiny-20260101-000000", epochs=4, done=1, state="running")

    async def scenario() -> None:
        with live.lock():  # the engine holds the run
            app = Hw3tuiApp()
            async with app.run_test(size=SIZE) as pilot:
                await wait_for(pilot, lambda: len(runs_table(app).rows_shown) == 1)
                cells = row_text(runs_table(app), live.name)
                assert cells[1:4] == ["● running", "0.400 (ep 0)", "1/4"]
                status = live.read_status() or Status()
                status.epochs_done = 2
                status.best = Best(epoch=1, metric="val_acc", value=0.5, path="best/x")
                live.write_status(status)
                await wait_for(
                    pilot,
                    lambda: row_text(runs_table(app), live.name)[2:4] == ["0.500 (ep 1)", "2/4"],
                    what="the row to follow status.json",
                )
        # and once the engine is gone, a status that still says running means killed
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: len(runs_table(app).rows_shown) == 1)
            assert row_text(runs_table(app), live.name)[1] == "✗ killed"

    run(scenario())


def test_run_screen_shows_a_finished_runs_full_history(runs_dir: Path) -> None:
    done = write_run(runs_dir, "tiny-20260101-000000", epochs=4, log="line one\nline two\n")

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: len(runs_table(app).rows_shown) == 1)
            runs_table(app).focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
            screen = app.screen
            await wait_for(pilot, lambda: screen.history.epochs_done == 4, what="the events")
            await pilot.pause()
            header = text_of(screen.query_one(RunHeader))
            assert "tiny-20260101-000000" in header and "done" in header
            best = text_of(screen.query_one(BestPanel))
            assert "val acc  0.7000 at epoch 3" in best
            # folded at `/` to the panel's width: the run folder, then the file
            assert "runs/tiny-20260101-000000/\nbest/resnet18_best.safetensors" in best
            acc = screen.query_one("#acc", Curves)
            assert [s.label for s in acc.series] == ["train", "val"]
            assert list(acc.series[1].ys) == [0.4, 0.5, 0.6, 0.7]
            assert "epoch 3 (4 of 4)" in text_of(screen.query_one("#epoch-label"))
            assert "done" in text_of(screen.query_one(RunProgress).query_one("#eta"))
            await wait_for(pilot, lambda: screen.query_one(LogTail).line_count >= 2)
            assert "line two" in screen.query_one(LogTail).lines
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
            # with the mouse: a click on the highlighted run opens it
            await pilot.click(RunsTable, offset=(3, 1))
            await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))

    assert done.is_live() is False
    run(scenario())


def test_run_screen_follows_new_events_of_a_live_run(runs_dir: Path) -> None:
    live = write_run(
        runs_dir, "tiny-20260101-000000", epochs=3, done=1, state="running", in_epoch_steps=2
    )

    async def scenario() -> None:
        with live.lock():
            app = Hw3tuiApp()
            async with app.run_test(size=SIZE) as pilot:
                app.open_run(live.path)
                await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
                screen = app.screen
                await wait_for(pilot, lambda: screen.history.epochs_done == 1)
                await pilot.pause()
                assert "running" in text_of(screen.query_one(RunHeader))
                assert "batch 2/6" in text_of(screen.query_one("#batch-label"))
                eta = text_of(screen.query_one("#eta"))
                assert eta.startswith("ETA ") and "400 images/s" in eta
                live.append_event(
                    {
                        "type": "epoch_end",
                        "time": STARTED + 30,
                        "epoch": 1,
                        "train_loss": 0.5,
                        "train_acc": 0.8,
                        "val_loss": 0.6,
                        "val_acc": 0.75,
                        "lr": 0.001,
                        "batch_size": 16,
                        "weight_decay": 0.0,
                        "seconds": 12.0,
                        "images_per_s": 410.0,
                    }
                )
                await wait_for(
                    pilot,
                    lambda: "0.7500 at epoch 1" in text_of(screen.query_one(BestPanel)),
                    what="the new epoch_end",
                )

    run(scenario())


def test_compare_two_finished_runs(runs_dir: Path) -> None:
    write_run(runs_dir, "tiny-20260101-000000", epochs=4, acc_gain=0.1)
    write_run(
        runs_dir,
        "other-20260101-010000",
        epochs=4,
        acc_gain=0.15,
        start=STARTED + 3600,
        preset_text=tiny_text("other")
        .replace("lr: 0.001", "lr: 0.01")
        .replace("epochs: 2", "epochs: 4"),
    )

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: len(runs_table(app).rows_shown) == 2)
            table = runs_table(app)
            table.focus()
            while table.highlighted is None or table.highlighted.name != "tiny-20260101-000000":
                await pilot.press("down")
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, PickScreen))
            await pilot.press("enter")  # the only other run
            await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
            screen = app.screen
            await wait_for(pilot, lambda: screen.comparison is not None)
            await pilot.pause()
            metrics = screen.query_one("#metrics", DataTable)
            rows = {
                str(metrics.get_row_at(i)[0]): metrics.get_row_at(i)[1:]
                for i in range(metrics.row_count)
            }
            assert [str(c) for c in rows["best val acc"]] == [
                "0.700 (epoch 3)",
                "0.850 (epoch 3) ★",
            ]
            # one run a side: a difference, never a verdict
            assert [str(c) for c in rows["verdict"]] == ["reference", "one seed +0.150"]
            changes = text_of(screen.query_one("#changes"))
            assert "name" in changes and "tiny → other" in changes
            assert "schedule.lr" in changes and "0.001 → 0.01" in changes
            curves = screen.query_one(Curves)
            assert [s.label for s in curves.series] == ["A val", "A train", "B val", "B train"]
            await pilot.press("m")
            assert [s.ys[0] for s in curves.series][:1] == [1.2]  # val loss of A at epoch 0

    run(scenario())


def test_a_preset_with_problems_is_not_launched(presets_dir: Path, runs_dir: Path) -> None:
    (presets_dir / "tiny.yaml").write_text(COMMENTED.replace("epochs: 2", "epochs: 0"))

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            table = app.screen.query_one(PresetsTable)
            await wait_for(pilot, lambda: table.row_count >= 1)
            while table.highlighted is None or table.highlighted.name != "tiny":
                await pilot.press("down")
            assert str(table.get_row_at(table.cursor_row)[0]) == "✗ tiny"
            await pilot.press("r")
            await pilot.pause(0.2)
            assert not isinstance(app.screen, RunScreen)
            assert not Path("runs").exists() or not any(Path("runs").iterdir())
            assert not app.launcher.children

    run(scenario())


def stand_in_engine(run_dir: Path) -> subprocess.Popen[bytes]:
    """A process that plays a live engine's part in signals: SIGINT ends it with status 3."""
    code = "import signal, sys, time\nsignal.signal(signal.SIGINT, lambda *a: sys.exit(3))\n"
    code += "print('ready', flush=True)\ntime.sleep(120)\n"
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True
    )
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"
    status = json.loads((run_dir / "status.json").read_text())
    (run_dir / "status.json").write_text(json.dumps({**status, "pid": child.pid}))
    return child


def test_cancel_a_live_run_from_home_signals_its_engine(runs_dir: Path) -> None:
    live = write_run(runs_dir, "tiny-20260101-000000", epochs=4, done=1, state="running")
    engine = stand_in_engine(live.path)

    async def scenario() -> None:
        with live.lock():
            app = Hw3tuiApp()
            async with app.run_test(size=SIZE) as pilot:
                table = runs_table(app)
                await wait_for(pilot, lambda: len(table.rows_shown) == 1)
                table.focus()
                await pilot.press("c")
                await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
                await pilot.press("y")
                await pilot.pause()
        assert engine.wait(timeout=30) == 3

    try:
        run(scenario())
    finally:
        engine.kill()


def test_quitting_with_a_live_run_can_stop_it(runs_dir: Path) -> None:
    live = write_run(runs_dir, "tiny-20260101-000000", epochs=4, done=1, state="running")
    engine = stand_in_engine(live.path)

    async def scenario() -> None:
        with live.lock():
            app = Hw3tuiApp()
            async with app.run_test(size=SIZE) as pilot:
                await wait_for(pilot, lambda: len(runs_table(app).rows_shown) == 1)
                await pilot.press("q")
                await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
                question = str(app.screen.question)  # type: ignore[attr-defined]
                assert question == "1 run is still training: tiny-20260101-000000"
                # each button shows the key that picks it (brackets are text, not markup)
                labels = [str(button.label) for button in app.screen.query(Button)]
                assert all(label.endswith("]") and " [" in label for label in labels), labels
                await pilot.press("s")
                await wait_for(pilot, lambda: not app.is_running, what="the app to quit")
        assert engine.wait(timeout=30) == 3

    try:
        run(scenario())
    finally:
        engine.kill()


def toasts(app: Hw3tuiApp) -> list[str]:
    """The notifications on screen, as a user reads them (title, then message)."""
    return [str(toast.render()) for toast in app.screen.query("Toast")]


def test_bad_input_on_an_action_is_one_line_and_the_app_goes_on(runs_dir: Path) -> None:
    """`r` on a run whose preset.yaml has two problems, in a folder whose name holds markup:
    one error notification of one line (the first problem, the name as it is, with how many
    more), no run started; the next action works."""
    name = "tiny-[b]x-20260101-000000"
    preset = tiny_text().replace("epochs: 2", "epochs: 0").replace("lr: 0.001", "lr: -1")
    folder = write_run(runs_dir, name, preset_text=preset)
    with folder.events_file.open("a") as events:
        events.write("not an event\n")  # the run screen says so, naming the run

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            table = runs_table(app)
            await wait_for(pilot, lambda: len(table.rows_shown) == 1)
            table.focus()
            await pilot.press("r")
            await wait_for(pilot, lambda: toasts(app), what="a notification")
            [shown] = toasts(app)
            title, message = shown.split("\n", 1)
            assert title == "Not started"
            assert "\n" not in message
            assert message.startswith(f"runs/{name}/preset.yaml:")
            assert message.endswith("(and 1 more problem)")
            assert not app.launcher.children and not isinstance(app.screen, RunScreen)
            await pilot.press("enter")  # the app goes on: the same run opens
            await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
            # a screen's notification is plain text too: the name as it is, markup and all
            await wait_for(pilot, lambda: toasts(app), what="the skipped lines said")
            assert toasts(app)[-1].startswith(f"{name}: events.jsonl has lines")

    run(scenario())


def test_the_compare_screen_shows_both_checkpoint_paths_whole_or_shortened_at_the_front(
    runs_dir: Path,
) -> None:
    """At 80 columns the two paths do not fit side by side: each loses its front to `…`, the
    file name kept, and none is cut at the screen's edge; with room, both are whole."""
    a = write_run(runs_dir, "tiny-20260101-000000", epochs=4)
    b = write_run(runs_dir, "tiny-lr-0.01-20260101-010000", epochs=4, start=STARTED + 3600)

    def checkpoints(table: DataTable[Any]) -> list[str]:
        row = next(
            table.get_row_at(i)
            for i in range(table.row_count)
            if str(table.get_row_at(i)[0]) == "checkpoint"
        )
        return [str(cell) for cell in row[1:]]

    async def scenario(size: tuple[int, int], shown: str) -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=size) as pilot:
            app.push_screen(CompareScreen(a, b))
            await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
            screen = app.screen
            await wait_for(pilot, lambda: screen.comparison is not None)  # type: ignore[attr-defined]
            await pilot.pause()
            table = screen.query_one("#metrics", DataTable)
            await wait_for(pilot, lambda: checkpoints(table) == [shown, shown])
            assert table.virtual_size.width <= table.size.width  # nothing past the edge

    run(scenario((80, 24), "…/resnet18_best.safetensors"))
    run(scenario((120, 30), "best/resnet18_best.safetensors"))
