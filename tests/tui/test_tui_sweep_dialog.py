"""`s` on a preset: the dialog writes a sweep file, refuses a bad value in place, starts it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input
from tui_pilot import run, text_of, wait_for
from tui_sweep_fakes import Launches

from hw3tui.sweeps.file import load_sweep
from hw3tui.tui import control
from hw3tui.tui.app import Hw3tuiApp
from hw3tui.tui.screens.sweep import SweepScreen
from hw3tui.tui.screens.sweep_dialog import SweepDialog
from hw3tui.tui.widgets.presets_table import PresetsTable

SIZE = (100, 34)


async def type_into(pilot: Pilot[Any], input_id: str, text: str) -> None:
    """Click into an input, empty it, and type `text` key by key."""
    field = pilot.app.screen.query_one(f"#{input_id}", Input)
    field.focus()
    field.value = ""
    await pilot.press(*["space" if c == " " else c for c in text])


def test_s_builds_a_sweep_file_refuses_a_bad_value_then_starts_it(
    presets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    launches = Launches()
    started = launches.started
    monkeypatch.setattr(control, "launch_detached", launches)
    target = presets_dir / "tiny-sweep.sweep.yaml"

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            table = app.screen.query_one(PresetsTable)
            await wait_for(pilot, lambda: table.row_count == 2)
            table.move_cursor(row=table.get_row_index(str((presets_dir / "tiny.yaml").resolve())))
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, SweepDialog))
            dialog = app.screen
            verdict = dialog.query_one("#verdict")
            await type_into(pilot, "field-0", "optimizer.name")
            await type_into(pilot, "values-0", "sgd, adam")
            await type_into(pilot, "field-1", "schedule.lr")
            await type_into(pilot, "values-1", "0.001, -1")
            await wait_for(pilot, lambda: "refused" in text_of(verdict), what="the error")
            error = text_of(verdict)
            # located in the file it would write, naming the axis and the value, as the CLI does
            assert "presets/tiny-sweep.sweep.yaml:6:" in error
            assert "axes.schedule.lr: value -1 is refused" in error
            assert dialog.query_one("#values-1", Input).has_class("refused")
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, SweepDialog) and not target.exists()
            assert started == []

            await type_into(pilot, "values-1", "0.001, 0.01")
            await wait_for(pilot, lambda: "✓" in text_of(verdict), what="the sweep checked")
            assert "4 trials · writes presets/tiny-sweep.sweep.yaml" in text_of(verdict)
            assert not dialog.query_one("#values-1", Input).has_class("refused")
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))

        # the file is a sweep file the CLI runs as it is
        loaded = load_sweep(target)
        assert loaded.sweep.name == "tiny-sweep"
        assert loaded.sweep.axes == {
            "optimizer.name": ["sgd", "adam"],
            "schedule.lr": [0.001, 0.01],
        }
        assert loaded.starts == (str((presets_dir / "tiny.yaml").resolve()),)
        assert loaded.sweep.planned() == 4
        # started detached as `hw3tui sweep FILE --sweep-dir DIR`, its output in DIR/log.txt
        [(args, log_folder)] = started
        assert args[0] == "sweep" and args[2] == "--sweep-dir"
        assert Path(args[1]).resolve() == target.resolve()
        assert Path(args[3]).parent == Path("sweeps")
        assert Path(args[3]).name.startswith("tiny-sweep-")
        assert log_folder == Path(args[3])
        # the sweep file is not listed among the presets
        assert app.preset_entries() and all(e.path != target for e in app.preset_entries())

    try:
        run(scenario())
    finally:
        launches.close()


PATTERNS = ["a: (b)", "it's #(1)", 'say "(hi)"', "café_(\\d+)", "日本 # (2)"]
"""Label patterns YAML would misread if the dialog pasted them into the file as typed."""


def test_the_dialog_writes_through_the_sweep_writer_tricky_values_read_back_the_same(
    presets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    launches = Launches()
    monkeypatch.setattr(control, "launch_detached", launches)
    target = presets_dir / "tiny-sweep.sweep.yaml"

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            table = app.screen.query_one(PresetsTable)
            await wait_for(pilot, lambda: table.row_count == 2)
            table.move_cursor(row=table.get_row_index(str((presets_dir / "tiny.yaml").resolve())))
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, SweepDialog))
            dialog = app.screen
            verdict = dialog.query_one("#verdict")

            def fill(input_id: str, text: str) -> None:
                dialog.query_one(f"#{input_id}", Input).value = text

            # a field path is a key, never YAML: nothing after `: ` becomes an axis of its own
            fill("field-0", "schedule.lr: [9]")
            fill("values-0", "0.1")
            await wait_for(pilot, lambda: "✗" in text_of(verdict), what="the path refused")
            assert "axes.schedule.lr: [9]" in text_of(verdict)
            # a value that is not YAML is refused in its row, before anything is written
            fill("field-0", "data.label_pattern")
            fill("values-0", "'unclosed")
            await wait_for(pilot, lambda: "not a YAML value" in text_of(verdict))
            assert "the values of axes.data.label_pattern" in text_of(verdict)
            assert dialog.query_one("#values-0", Input).has_class("refused")

            quoted = ["'a: (b)'", '"it\'s #(1)"', "'say \"(hi)\"'", "café_(\\d+)", "'日本 # (2)'"]
            fill("values-0", ", ".join(quoted))
            fill("set-field", "data.image_size")
            fill("set-value", "48")
            fill("trials", "3")
            await wait_for(pilot, lambda: "✓" in text_of(verdict), what="the sweep checked")
            assert "3 trials" in text_of(verdict)
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))

        loaded = load_sweep(target)
        assert loaded.sweep.axes == {"data.label_pattern": PATTERNS}
        assert loaded.sweep.set == {"data.image_size": 48}
        assert loaded.sweep.trials == 3
        assert target.read_text(encoding="utf-8").startswith("# A sweep of tiny.yaml, written by")

    try:
        run(scenario())
    finally:
        launches.close()


def test_the_dialogs_repeat_field_writes_repeat(
    presets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    launches = Launches()
    monkeypatch.setattr(control, "launch_detached", launches)
    target = presets_dir / "tiny-sweep.sweep.yaml"

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=SIZE) as pilot:
            table = app.screen.query_one(PresetsTable)
            await wait_for(pilot, lambda: table.row_count == 2)
            table.move_cursor(row=table.get_row_index(str((presets_dir / "tiny.yaml").resolve())))
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, SweepDialog))
            verdict = app.screen.query_one("#verdict")
            await type_into(pilot, "field-0", "schedule.lr")
            await type_into(pilot, "values-0", "0.001, 0.01")
            await type_into(pilot, "repeat", "3")
            await wait_for(pilot, lambda: "✓" in text_of(verdict), what="the sweep checked")
            assert "2 trials × 3 seeds" in text_of(verdict)
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))

        assert load_sweep(target).sweep.repeat == 3

    try:
        run(scenario())
    finally:
        launches.close()
