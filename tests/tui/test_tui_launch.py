"""The TUI drives the real engine: `r` starts `hw3tui run` as a detached child on tiny data.

The training happens in another process (as it does for users), so these tests wait for what a
user would see: an epoch's val acc on the run screen, a cancelled state, a listed result.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import COMMENTED
from textual.pilot import Pilot
from tui_pilot import run, text_of, wait_for

from hw3tui.runs import RunDir
from hw3tui.tui.app import Hw3tuiApp
from hw3tui.tui.screens.choice import ChoiceScreen
from hw3tui.tui.screens.run import RunScreen
from hw3tui.tui.widgets.best_panel import BestPanel
from hw3tui.tui.widgets.curves import Curves
from hw3tui.tui.widgets.log_tail import LogTail
from hw3tui.tui.widgets.presets_table import PresetsTable
from hw3tui.tui.widgets.run_header import RunHeader
from hw3tui.tui.widgets.runs_table import RunsTable

pytestmark = pytest.mark.slow

SIZE = (100, 34)
TRAINING = 300.0
"""Seconds allowed for a tiny run: seconds on an idle machine, far more on a busy shared one."""


@pytest.fixture(autouse=True)
def child_env(monkeypatch: pytest.MonkeyPatch, subprocess_env: dict[str, str]) -> None:
    """Children started by the app import this checkout."""
    monkeypatch.setenv("PYTHONPATH", subprocess_env["PYTHONPATH"])


@pytest.fixture
def apps() -> Iterator[list[Hw3tuiApp]]:
    """Apps made by a test; any child still running when it ends is killed (no orphans)."""
    made: list[Hw3tuiApp] = []
    yield made
    for app in made:
        for child in app.launcher.children.values():
            if child.poll() is None:
                child.kill()
                child.wait(timeout=30)


async def launch(pilot: Pilot[None], app: Hw3tuiApp, preset: str) -> RunScreen:
    """Highlight `preset` on the home screen and press r."""
    table = app.screen.query_one(PresetsTable)
    await wait_for(pilot, lambda: table.row_count >= 1, what="the presets")
    while table.highlighted is None or table.highlighted.name != preset:
        await pilot.press("down")
    await pilot.press("r")
    await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), what="the run screen")
    return app.screen  # type: ignore[return-value]


def events(run_dir: RunDir, kind: str) -> list[dict[str, object]]:
    return [e for e in run_dir.events() if e["type"] == kind]


def best_val_acc_line(run_dir: RunDir) -> str:
    """`val acc  0.6667 at epoch 1`: the best of the epochs written so far (the first on a tie)."""
    done = [(float(e["val_acc"]), e["epoch"]) for e in events(run_dir, "epoch_end")]  # type: ignore[arg-type]
    best = max(acc for acc, _ in done)
    epoch = next(epoch for acc, epoch in done if acc == best)
    return f"val acc  {best:.4f} at epoch {epoch}"


def test_launch_shows_epoch_val_acc_and_reopening_lists_the_result(
    presets_dir: Path, apps: list[Hw3tuiApp]
) -> None:
    async def scenario() -> None:
        app = Hw3tuiApp()
        apps.append(app)
        async with app.run_test(size=SIZE) as pilot:
            screen = await launch(pilot, app, "tiny")
            run_dir = screen.run
            assert run_dir.path.parent.name == "runs" and run_dir.log_file.exists()
            await wait_for(pilot, lambda: events(run_dir, "epoch_end"), TRAINING, "an epoch_end")
            first = events(run_dir, "epoch_end")[0]
            val_acc = float(first["val_acc"])  # type: ignore[arg-type]
            acc = screen.query_one("#acc", Curves)
            await wait_for(
                pilot,
                lambda: [s.ys[:1] for s in acc.series if s.label == "val"] == [[val_acc]],
                what=f"epoch 0's val acc {val_acc} on the accuracy curve",
            )
            # the child's own line for epoch 0, tailed from log.txt
            line = f"val loss {float(first['val_loss']):.4f} acc {val_acc:.3f}"  # type: ignore[arg-type]
            log = screen.query_one(LogTail)
            await wait_for(
                pilot,
                lambda: any(ln.startswith("epoch 0 [1/2]") and line in ln for ln in log.lines),
                TRAINING,
                f"'{line}' in the log pane",
            )
            # the Best panel catches up with the epochs on disk (a later one may beat epoch 0)
            best = screen.query_one(BestPanel)
            await wait_for(
                pilot,
                lambda: best_val_acc_line(run_dir) in text_of(best),
                TRAINING,
                "the best val acc in the Best panel",
            )
            await wait_for(
                pilot,
                lambda: getattr(run_dir.read_status(), "state", None) == "done",
                TRAINING,
                "the run to finish",
            )
            await wait_for(pilot, lambda: "done" in text_of(screen.query_one(RunHeader)))
            await pilot.press("q")  # nothing live: quits without asking
        assert app.launcher.children[run_dir.path.resolve()].wait(timeout=60) == 0

        best = getattr(run_dir.read_status(), "best", None)
        again = Hw3tuiApp()
        async with again.run_test(size=SIZE) as pilot:
            table = again.screen.query_one(RunsTable)
            await wait_for(pilot, lambda: len(table.rows_shown) == 1, what="the runs list")
            cells = [str(c) for c in table.get_row(str(run_dir.path.resolve()))]
            assert cells[:3] == [
                run_dir.name,
                "✓ done",
                f"{best['value']:.3f} (ep {best['epoch']})",
            ]

    run(scenario())


def test_cancel_asks_then_the_run_ends_cancelled(presets_dir: Path, apps: list[Hw3tuiApp]) -> None:
    long = COMMENTED.replace("name: tiny ", "name: long ").replace("epochs: 2", "epochs: 50")
    (presets_dir / "long.yaml").write_text(long)

    async def scenario() -> None:
        app = Hw3tuiApp()
        apps.append(app)
        async with app.run_test(size=SIZE) as pilot:
            screen = await launch(pilot, app, "long")
            run_dir = screen.run
            await wait_for(
                pilot, lambda: events(run_dir, "progress"), TRAINING, "training to start"
            )
            # quitting with a live run asks; "back" keeps both the app and the run
            await pilot.press("q")
            await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
            assert "still training" in str(app.screen.question)  # type: ignore[attr-defined]
            await pilot.press("b")
            await wait_for(pilot, lambda: app.screen is screen)

            child = app.launcher.children[run_dir.path.resolve()]
            # its own session: a closed terminal (SIGHUP) or the app's end does not reach it
            assert os.getsid(child.pid) == child.pid != os.getsid(0)

            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
            await pilot.press("n")  # keep running
            await wait_for(pilot, lambda: app.screen is screen)
            assert run_dir.is_live()
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
            await pilot.press("y")
            await wait_for(
                pilot,
                lambda: getattr(run_dir.read_status(), "state", None) == "cancelled",
                TRAINING,
                "the cancelled state",
            )
            await wait_for(pilot, lambda: "cancelled" in text_of(screen.query_one(RunHeader)))
            assert child.wait(timeout=60) == 130
        assert events(run_dir, "run_end")[-1]["state"] == "cancelled"
        assert json.loads(run_dir.status_file.read_text())["state"] == "cancelled"

    run(scenario())
