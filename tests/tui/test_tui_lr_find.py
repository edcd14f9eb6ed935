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
from textual.widgets import Input
from tui_pilot import run, text_of, wait_for

from hw3tui.tui.app import Hw3tuiApp
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


RAMP_CHILD = """
import json, sys, time
args = sys.argv[1:]
with open(LOG, "a") as log:
    log.write(" ".join(args[2:]) + "\\n")
def flag(name):
    return args[args.index(name) + 1]
start, end, steps = float(flag("--start")), float(flag("--end")), int(flag("--steps"))
if steps == SLOW:
    sys.stderr.write("hw3tui: a note far longer than the dialog is wide " + "x" * 200 + "\\n")
    sys.stderr.flush()
    time.sleep(600)
lrs = [start * (end / start) ** (i / (steps - 1)) for i in range(steps)]
smoothed = [2.0 - i / steps for i in range(steps)]
curve = {"preset": "tiny", "backbone": "resnet18", "lrs": lrs, "losses": smoothed,
         "smoothed": smoothed, "suggestion": lrs[steps // 2], "diverged": False}
sys.stdout.write(json.dumps(curve))
"""


def ramp_child(monkeypatch: pytest.MonkeyPatch, log: Path, *, slow: int = 0) -> None:
    """The finder's own flags go to a child that draws the ramp they ask for, logs its flags
    (one line a child) and, asked for `slow` steps, hangs (a run to kill)."""
    real = LrFindScreen.command
    code = RAMP_CHILD.replace("LOG", repr(str(log))).replace("SLOW", str(slow))
    monkeypatch.setattr(
        LrFindScreen,
        "command",
        lambda self, preset: [sys.executable, "-c", code, *real(self, preset)[3:]],
    )


def runs_logged(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


async def type_into(pilot: Pilot[Any], screen: LrFindScreen, field: str, text: str) -> Input:
    """Focus the input `field` (start, end, steps), erase it and type `text`, as a user would."""
    box = screen.query_one(f"#lr-{field}", Input)
    box.focus()
    await pilot.press("end", *["backspace"] * len(box.value), *text)
    return box


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
    async def scenario() -> None:
        app = app_for(presets_dir, runs_dir)
        async with app.run_test(size=(100, 40)) as pilot:
            editor, finder = await open_finder(pilot, app)
            await wait_for(pilot, lambda: finder.child is not None, 10, "the child")
            assert "Running 100 steps, lr 1e-07 to 10, on a throwaway copy" in status_of(finder)
            first = finder.child
            await type_into(pilot, finder, "steps", "20")  # a shorter ramp: the same command
            await pilot.press("enter")
            await wait_for(pilot, lambda: "Running 20 steps" in status_of(finder), 10, "a re-run")
            assert first is not None and first.poll() is not None  # the first one killed
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


def test_the_ramp_asked_is_the_ramp_run_again_and_shown(
    presets_dir: Path, runs_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    ramp_child(monkeypatch, log, slow=100)  # the first run, with the defaults, never ends

    async def scenario() -> None:
        app = app_for(presets_dir, runs_dir)
        async with app.run_test(size=(100, 40)) as pilot:
            _, finder = await open_finder(pilot, app)
            await wait_for(pilot, lambda: finder.child is not None, 10, "the child")
            first = finder.child
            assert first is not None
            assert "Running 100 steps, lr 1e-07 to 10, on a throwaway copy" in status_of(finder)
            shown = [finder.query_one(f"#lr-{f}", Input).value for f in ("start", "end", "steps")]
            assert shown == ["1e-07", "10", "100"]  # the CLI's defaults

            await type_into(pilot, finder, "steps", "20")
            await pilot.press("enter")  # enter in an input runs again, the running one killed
            await wait_for(pilot, lambda: finder.result, 60, "the curve")
            assert first.poll() is not None
            assert runs_logged(log) == [
                "--start 1e-07 --end 10.0 --steps 100 --json",
                "--start 1e-07 --end 10.0 --steps 20 --json",
            ]
            assert status_of(finder).startswith("20 steps, lr 1e-07 to 10 (reached the end")
            assert len(finder.query_one(LrPlot).points) == 20

            await type_into(pilot, finder, "start", "1e-5")
            await type_into(pilot, finder, "end", "0.1")
            await pilot.click("#lr-rerun-button")
            await wait_for(pilot, lambda: len(runs_logged(log)) == 3, 10, "the third child")
            await wait_for(pilot, lambda: finder.result, 60, "the curve")
            assert runs_logged(log)[-1] == "--start 1e-05 --end 0.1 --steps 20 --json"
            assert status_of(finder).startswith("20 steps, lr 1e-05 to 0.1 (reached the end")
            points = finder.query_one(LrPlot).points
            assert len(points) == 20
            assert points[0][0] == pytest.approx(-5) and points[-1][0] == pytest.approx(-1)

            finder.query_one("#lr-close-button").focus()
            await pilot.press("r")  # the key, away from the inputs
            await wait_for(pilot, lambda: len(runs_logged(log)) == 4, 10, "the fourth child")
            await wait_for(pilot, lambda: finder.result, 60, "the curve")
            assert runs_logged(log)[-1] == "--start 1e-05 --end 0.1 --steps 20 --json"

    run(scenario())


@pytest.mark.parametrize(
    ("field", "text", "said"),
    [
        ("start", "10", "start lr: 10 is not below end lr 10"),
        ("end", "1e-8", "start lr: 1e-07 is not below end lr 1e-08"),
        ("steps", "5", "steps: 5 is not a whole number from 10 to 10000"),
        ("steps", "20.5", "steps: '20.5' is not a whole number from 10 to 10000"),
        ("start", "abc", "start lr: 'abc' is not a number"),
        ("end", "inf", "end lr: inf is not a finite number above 0"),
        ("start", "-1", "start lr: -1 is not a finite number above 0"),
    ],
)
def test_a_bad_value_is_one_line_and_starts_no_child(
    presets_dir: Path,
    runs_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    field: str,
    text: str,
    said: str,
) -> None:
    log = tmp_path / "runs.log"
    ramp_child(monkeypatch, log)

    async def scenario() -> None:
        app = app_for(presets_dir, runs_dir)
        async with app.run_test(size=(100, 40)) as pilot:
            _, finder = await open_finder(pilot, app)
            await wait_for(pilot, lambda: finder.result, 60, "the curve")
            await type_into(pilot, finder, field, text)
            await pilot.press("enter")
            await pilot.pause()
            assert status_of(finder) == said
            assert finder.query_one("#lr-status").has_class("-failed")
            assert finder.child is None and len(runs_logged(log)) == 1  # no child started
            named = {"start lr": "start", "end lr": "end", "steps": "steps"}[said.split(":")[0]]
            refused = finder.query_one(f"#lr-{named}", Input)
            assert refused.has_class("-refused") and refused.has_focus
            await pilot.click("#lr-rerun-button")  # the button refuses alike
            await pilot.pause()
            assert status_of(finder) == said and len(runs_logged(log)) == 1

    run(scenario())


def test_a_bad_value_while_a_child_runs_stays_said_and_the_child_runs_on(
    presets_dir: Path, runs_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    ramp_child(monkeypatch, log, slow=100)

    async def scenario() -> None:
        app = app_for(presets_dir, runs_dir)
        async with app.run_test(size=(80, 24)) as pilot:
            _, finder = await open_finder(pilot, app)
            await wait_for(pilot, lambda: "a note far longer" in status_of(finder), 60, "a note")
            status = finder.query_one("#lr-status")
            assert status.size.height == 1  # a long note is cut, not wrapped
            child = finder.child
            await type_into(pilot, finder, "steps", "5")
            await pilot.press("enter")
            await pilot.pause(1.0)  # ten of the running child's progress updates
            said = "steps: 5 is not a whole number from 10 to 10000"
            assert status_of(finder) == said
            assert finder.child is child and child is not None and child.poll() is None
            assert len(runs_logged(log)) == 1
            await pilot.press("backspace", "2", "0")  # a change: the progress again
            await wait_for(pilot, lambda: "Running 100 steps" in status_of(finder), 10)
            assert not status.has_class("-failed")

    run(scenario())


def test_typing_in_an_input_is_text_not_a_key_and_escape_still_closes(
    presets_dir: Path, runs_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    ramp_child(monkeypatch, log)

    async def scenario() -> None:
        app = app_for(presets_dir, runs_dir)
        async with app.run_test(size=(100, 40)) as pilot:
            editor, finder = await open_finder(pilot, app)
            await wait_for(pilot, lambda: finder.result, 60, "the curve")
            said = status_of(finder)
            box = finder.query_one("#lr-start", Input)
            box.focus()
            await pilot.press("end", "a", "r")
            await pilot.pause()
            assert app.screen is finder  # `a` did not apply the suggestion
            assert box.value == "1e-07ar"
            assert len(runs_logged(log)) == 1 and status_of(finder) == said  # `r` ran nothing
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is editor, what="back in the editor")
            assert editor.document.value(LR) == 0.001 and not editor.document.dirty

    run(scenario())


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
