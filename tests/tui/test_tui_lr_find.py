"""The editor's lr finder: `hw3tui lr-find --json` in a child on the preset as edited, its
suggestion on screen, applied to schedule.lr; bad presets and dead children in one line; cancel
kills the child."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from test_tui_editor import app_for, open_tiny, show_section
from textual.pilot import Pilot
from tui_pilot import run, text_of, wait_for

from hw3tui.tui.app import Hw3tuiApp
from hw3tui.tui.screens import lr_find
from hw3tui.tui.screens.editor import EditorScreen
from hw3tui.tui.screens.lr_find import LrFindScreen, read_result
from hw3tui.tui.widgets.lr_plot import LrPlot
from hw3tui.tui.widgets.schedule_editor import start_said, with_start

CHILD_S = 600.0
"""A child process imports torch and trains: slow on a busy machine."""
LR = ("schedule", "lr")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def status_of(screen: LrFindScreen) -> str:
    return text_of(screen.query_one("#lr-status"))


async def open_finder(pilot: Pilot[Any], app: Hw3tuiApp) -> tuple[EditorScreen, LrFindScreen]:
    editor = await open_tiny(pilot, app)
    await show_section(pilot, editor, "Schedule")
    await pilot.press("ctrl+l")
    await wait_for(pilot, lambda: isinstance(app.screen, LrFindScreen), what="the lr finder")
    return editor, app.screen  # type: ignore[return-value]


def canned_curve(tmp: Path, *, suggestion: float | None = 0.0012345, **extra: Any) -> Path:
    """A finished child's JSON: a loss flat until 1e-4, falling to 1e-2, then climbing."""
    lrs = [1e-7 * 10 ** (8 * i / 99) for i in range(100)]
    smoothed = []
    for lr in lrs:
        x = math.log10(lr)
        smoothed.append(
            2.3 if x < -4 else 2.3 - 0.9 * (x + 4) if x < -2 else 0.5 + 3 * (x + 2) ** 2
        )
    curve = {
        "preset": "tiny",
        "backbone": "resnet18",
        "lrs": lrs,
        "losses": smoothed,
        "smoothed": smoothed,
        "suggestion": suggestion,
        "diverged": True,
        **extra,
    }
    path = tmp / "curve.json"
    path.write_text(json.dumps(curve))
    return path


def fake_child(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    """The finder runs `python -c code` instead of the lr-find command (no torch: fast)."""
    monkeypatch.setattr(LrFindScreen, "command", lambda self, preset: [sys.executable, "-c", code])


def printing(path: Path) -> str:
    return f"import sys; sys.stdout.write(open({str(path)!r}).read())"


# ---- applying to each schedule form ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "applied", "said"),
    [
        (0.01, 0.002, "sets schedule.lr to it"),
        (None, 0.002, "sets schedule.lr to it"),
        ({0: 0.01, 15: 0.001}, {0: 0.002, 15: 0.001}, "epoch 0's value"),
        ([0.01, 0.01, 0.005], [0.002, 0.01, 0.005], "the other 2 keep theirs"),
        ({"cosine": {"start": 0.01, "end": 0.0}}, {"cosine": {"start": 0.002, "end": 0.0}}, "end"),
        (
            {"plateau": {"start": 0.01, "factor": 0.5, "patience": 3}},
            {"plateau": {"start": 0.002, "factor": 0.5, "patience": 3}},
            "factor and patience stay",
        ),
    ],
)
def test_applying_sets_the_first_epochs_value_and_says_so(
    value: Any, applied: Any, said: str
) -> None:
    assert with_start(value, 0.002) == applied
    assert said in start_said(value, "schedule.lr")


def test_a_childs_json_with_nan_or_garbage_is_read_safely() -> None:
    assert read_result("not json") is None
    assert read_result("[1, 2]") is None
    text = json.dumps(
        {
            "preset": "a\x1b[31mb",
            "lrs": [1e-7, 1e-6, 1e-5],
            "smoothed": [2.0, None, 1.0],
            "suggestion": 1.23456e-6,
            "diverged": False,
        }
    ).replace("null", "NaN")
    result = read_result(text)
    assert result is not None
    assert result.lrs == [1e-7, 1e-5] and result.smoothed == [2.0, 1.0]
    assert result.suggestion == 1.2e-6  # as `hw3tui lr-find` prints it
    assert "\x1b" not in result.title and "\\x1b" in result.title


# ---- the real child ----------------------------------------------------------------------------


def test_the_finder_runs_on_the_edited_preset_and_applies_its_suggestion(
    presets_dir: Path, runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lr_find, "STEPS", 20)  # a shorter ramp: the same command

    async def scenario() -> None:
        app = app_for(presets_dir, runs_dir)
        async with app.run_test(size=(100, 40)) as pilot:
            editor, finder = await open_finder(pilot, app)
            await wait_for(pilot, lambda: finder.child is not None, 10, "the child")
            assert "Running 20 steps on a throwaway copy" in status_of(finder)
            await wait_for(pilot, lambda: finder.result or finder.failure, CHILD_S, "the curve")
            assert finder.failure is None
            result = finder.result
            assert result is not None and result.suggestion is not None
            assert f"suggested lr {result.suggestion:.2g}" in status_of(finder)
            assert finder.query_one(LrPlot).marked is not None
            assert "now 0.001" in text_of(finder.query_one("#lr-apply"))
            await pilot.press("a")
            await wait_for(pilot, lambda: app.screen is editor, what="back in the editor")
            assert editor.document.value(LR) == result.suggestion
            assert editor.document.dirty
            assert "modified" in text_of(editor.query_one("#title"))
            assert "# small: the model is tiny" in editor.document.text  # the comment stays

    run(scenario())


def test_missing_data_is_the_childs_one_line(presets_dir: Path, runs_dir: Path) -> None:
    text = (presets_dir / "tiny.yaml").read_text()
    (presets_dir / "tiny.yaml").write_text(
        text.replace(
            "source: shapes       # built in, nothing to download",
            "source: imagefolder\n  train: nowhere",
        )
    )

    async def scenario() -> None:
        app = app_for(presets_dir, runs_dir)
        async with app.run_test(size=(100, 40)) as pilot:
            _, finder = await open_finder(pilot, app)
            await wait_for(pilot, lambda: finder.failure, CHILD_S, "the child's answer")
            shown = status_of(finder)
            assert shown.startswith("No lr found: data.train: ") and "nowhere" in shown
            assert "\n" not in shown and "Traceback" not in shown
            await pilot.press("a")  # nothing to apply
            assert isinstance(app.screen, LrFindScreen)

    run(scenario())


def test_an_invalid_preset_is_refused_in_one_line(presets_dir: Path, runs_dir: Path) -> None:
    text = (presets_dir / "tiny.yaml").read_text()
    (presets_dir / "tiny.yaml").write_text(text.replace("lr: 0.001 ", "lr: -1 "))

    async def scenario() -> None:
        app = app_for(presets_dir, runs_dir)
        async with app.run_test(size=(100, 40)) as pilot:
            editor = await open_tiny(pilot, app)
            await pilot.press("ctrl+l")
            await pilot.pause()
            assert app.screen is editor  # no child started
            (note,) = [n.message for n in app._notifications]
            assert (
                note.startswith("Fix the preset's problems first (schedule.lr") and "\n" not in note
            )

    run(scenario())


def test_escape_or_leaving_kills_the_child(presets_dir: Path, runs_dir: Path) -> None:
    async def scenario() -> None:
        app = app_for(presets_dir, runs_dir)
        async with app.run_test(size=(100, 40)) as pilot:
            editor, finder = await open_finder(pilot, app)
            await wait_for(pilot, lambda: finder.child is not None, 10, "the child")
            assert finder.child is not None
            pid = finder.child.pid
            assert pid_alive(pid)
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is editor, what="back in the editor")
            assert not pid_alive(pid)
            assert editor.document.value(LR) == 0.001 and not editor.document.dirty

            await pilot.press("ctrl+l")  # again, and the screen is left another way
            await wait_for(pilot, lambda: isinstance(app.screen, LrFindScreen))
            finder = app.screen  # type: ignore[assignment]
            await wait_for(pilot, lambda: finder.child is not None, 10, "the child")
            assert finder.child is not None
            pid = finder.child.pid
            app.pop_screen()
            await wait_for(pilot, lambda: app.screen is editor, what="back in the editor")
            await wait_for(pilot, lambda: not pid_alive(pid), 10, "the child's end")

    run(scenario())


# ---- fake children (no torch) ------------------------------------------------------------------


def test_a_child_that_dies_says_it_failed_escaped(
    presets_dir: Path, runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_child(monkeypatch, "import sys; sys.stderr.write('oops \\x1b[2J\\n'); sys.exit(1)")

    async def scenario() -> None:
        app = app_for(presets_dir, runs_dir)
        async with app.run_test(size=(100, 40)) as pilot:
            _, finder = await open_finder(pilot, app)
            await wait_for(pilot, lambda: finder.failure, 60, "the child's end")
            shown = status_of(finder)
            assert shown == "No lr found: the lr finder failed (exit 1): oops \\x1b[2J"

    run(scenario())


def test_a_per_epoch_list_gets_its_first_epoch_set_as_said(
    presets_dir: Path, runs_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = (presets_dir / "tiny.yaml").read_text()
    (presets_dir / "tiny.yaml").write_text(text.replace("lr: 0.001 ", "lr: [0.01, 0.005] "))
    fake_child(monkeypatch, printing(canned_curve(tmp_path)))

    async def scenario() -> None:
        app = app_for(presets_dir, runs_dir)
        async with app.run_test(size=(100, 40)) as pilot:
            editor, finder = await open_finder(pilot, app)
            await wait_for(pilot, lambda: finder.result, 60, "the curve")
            apply = text_of(finder.query_one("#lr-apply"))
            assert "sets the first epoch's; the other 1 keep theirs (now [0.01, 0.005])" in apply
            await pilot.press("a")
            await wait_for(pilot, lambda: app.screen is editor, what="back in the editor")
            assert editor.document.value(LR) == [0.0012, 0.005]

    run(scenario())


def test_the_finished_lr_finder_snapshot(
    snap_compare: Any,
    presets_dir: Path,
    runs_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    fake_child(monkeypatch, printing(canned_curve(tmp_path)))

    async def finished(pilot: Pilot[Any]) -> None:
        app: Hw3tuiApp = pilot.app  # type: ignore[assignment]
        app.edit_preset(presets_dir / "tiny.yaml")
        await wait_for(pilot, lambda: isinstance(app.screen, EditorScreen))
        editor: EditorScreen = app.screen  # type: ignore[assignment]
        await wait_for(pilot, lambda: editor.query("#sections"))
        await show_section(pilot, editor, "Schedule")
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, LrFindScreen))
        finder: LrFindScreen = app.screen  # type: ignore[assignment]
        await wait_for(pilot, lambda: finder.result, 60, "the curve")
        await pilot.pause()

    assert snap_compare(Hw3tuiApp(), terminal_size=(80, 24), run_before=finished)
