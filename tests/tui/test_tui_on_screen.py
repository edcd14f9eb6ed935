"""What the editor and run screens draw: a switch that looks like one, a checkpoint path broken
only at `/`, schedule numbers people read at a glance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_tui_editor import app_for, open_tiny, show_section
from textual.widgets import Switch
from tui_fakes import tiny_text, write_run
from tui_pilot import run, text_of, wait_for

from hw3tui.humanize import format_number
from hw3tui.tui.app import Hw3tuiApp
from hw3tui.tui.paths import fold_path
from hw3tui.tui.screens.run import RunScreen
from hw3tui.tui.widgets.best_panel import BestPanel
from hw3tui.tui.widgets.schedule_now import ScheduleNow

SWITCH_MAX_CELLS = 12
"""A switch is a small slider (Textual draws it 10 cells wide), not a field-wide box."""


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_a_boolean_field_draws_as_a_switch(
    presets_dir: Path, runs_dir: Path, size: tuple[int, int]
) -> None:
    tiny = presets_dir / "tiny.yaml"
    tiny.write_text(tiny.read_text().replace("name: adamw", "name: sgd\n  nesterov: true"))

    async def scenario() -> None:
        app = app_for(presets_dir, runs_dir)
        async with app.run_test(size=size) as pilot:
            editor = await open_tiny(pilot, app)
            await show_section(pilot, editor, "Optimizer")
            switch = editor.query_one("#field-optimizer-nesterov Switch", Switch)
            assert switch.value is True
            assert 0 < switch.region.width <= SWITCH_MAX_CELLS

    run(scenario())


@pytest.mark.parametrize(
    ("path", "width", "max_lines", "lines"),
    [
        ("runs/a/best/x.safetensors", 40, 0, ["runs/a/best/x.safetensors"]),
        (
            "runs/tiny-20260101-000000/best/resnet18_best.safetensors",
            35,
            0,
            ["runs/tiny-20260101-000000/", "best/resnet18_best.safetensors"],
        ),
        (
            "runs/resnet18-cosine-20260101-000000/best/resnet18_best.safetensors",
            35,
            0,
            ["runs/", "resnet18-cosine-20260101-000000/", "best/resnet18_best.safetensors"],
        ),
        (  # two lines at most: the end is kept, `…/` says there is more
            "runs/resnet18-cosine-20260101-000000/best/resnet18_best.safetensors",
            35,
            2,
            ["…/resnet18-cosine-20260101-000000/", "best/resnet18_best.safetensors"],
        ),
        # a name that fits only without its `/`: the `/` starts the next line
        ("runs/abcdefgh/best/x", 8, 0, ["runs/", "abcdefgh", "/best/x"]),
        ("runs/abcdefgh/best/x", 8, 2, ["abcdefgh", "/best/x"]),  # no room for `…/`
        # a name wider than a line keeps its end (the file's kind), `…` in front
        (
            "runs/r/best/efficientnet_v2_s_best.safetensors",
            20,
            0,
            ["runs/r/best/", "…_s_best.safetensors"],
        ),
        ("日本語/日本語", 7, 0, ["日本語/", "日本語"]),  # wide characters count two cells
        ("runs/a/b", 0, 0, ["runs/a/b"]),  # no width known yet: one line
    ],
)
def test_fold_path_breaks_only_at_slashes(
    path: str, width: int, max_lines: int, lines: list[str]
) -> None:
    assert fold_path(path, width, max_lines) == lines


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.0012613948235, "0.00126"),
        (0.0001, "0.0001"),
        (0.0005, "0.0005"),
        (16.0, "16"),
        (1024, "1024"),
        (0.0, "0"),
        (1e-05, "1e-05"),
        (float("nan"), "nan"),
    ],
)
def test_format_number_keeps_three_significant_digits(value: float, shown: str) -> None:
    assert format_number(value) == shown


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_run_screen_folds_the_checkpoint_path_and_rounds_the_lr(
    runs_dir: Path, size: tuple[int, int]
) -> None:
    cosine = "lr: {cosine: {start: 0.003, end: 0.0001}}"
    text = tiny_text(**{"epochs: 2": "epochs: 8", "lr: 0.001": cosine})
    name = "resnet18-cosine-20260101-000000"
    folder = write_run(runs_dir, name, epochs=8, done=5, state="running", preset_text=text)
    events = [json.loads(line) for line in folder.events_file.read_text().splitlines()]
    for event in events:  # the engine reports a cosine's lr with all its digits
        if "lr" in event:
            event["lr"] = 0.0012613948235
    folder.events_file.write_text("".join(json.dumps(e) + "\n" for e in events))

    async def scenario() -> None:
        app = Hw3tuiApp()
        async with app.run_test(size=size) as pilot:
            app.open_run(folder.path)
            await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
            screen: RunScreen = app.screen  # type: ignore[assignment]
            await wait_for(pilot, lambda: screen.history.epochs_done == 5 and screen.preset)
            await pilot.pause()
            schedule = text_of(screen.query_one(ScheduleNow)).splitlines()
            assert "lr       0.00126  → 0.0001 at 7" in schedule
            best = screen.query_one(BestPanel)
            width = best.content_size.width
            path_lines = text_of(best).splitlines()[2:]
            assert path_lines == [f"…/{name}/", "best/resnet18_best.safetensors"]
            assert all(len(line) <= width for line in path_lines)
            # all of it on screen: the file's name is the line a small terminal must not lose
            assert best.region.bottom <= screen.query_one("#side").content_region.bottom

    run(scenario())
