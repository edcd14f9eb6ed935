"""The editor's augmentation preview: half-block rendering, redrawn on edits, typing unblocked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from rich.color import Color
from rich.console import Console
from test_tui_editor import app_for, open_tiny, retype, show_section
from textual.pilot import Pilot
from textual.widgets import Input
from tui_pilot import run, text_of, wait_for

from hw3tui.tui.app import Hw3tuiApp
from hw3tui.tui.screens.editor import EditorScreen
from hw3tui.tui.widgets.augment_preview import UPPER_HALF, AugmentPreview, half_block, tile_grid

CHILD_S = 120.0
"""A child process imports torch: slow on a busy machine."""


def rgb(color: Color | None) -> tuple[int, int, int] | None:
    return None if color is None else color.get_truecolor()[:3]


def mirrored(tiles: np.ndarray) -> bool:
    """Every draw is its original flipped left to right (to a rounding of the resize)."""
    originals = tiles[:, :1].astype(int)
    return bool(np.abs(tiles[:, 1:].astype(int) - originals[:, :, :, ::-1]).max() <= 1)


def test_half_block_puts_the_upper_pixel_in_front_and_the_lower_behind() -> None:
    pixels = np.zeros((3, 2, 3), dtype=np.uint8)
    pixels[0, 0] = (255, 0, 0)
    pixels[1, 0] = (0, 0, 255)
    pixels[0, 1] = (0, 255, 0)
    pixels[1, 1] = (10, 20, 30)
    pixels[2, 0] = (1, 2, 3)
    pixels[2, 1] = (4, 5, 6)
    text = half_block(pixels)
    lines = text.split("\n")
    assert [line.plain for line in lines] == [UPPER_HALF * 2, UPPER_HALF * 2]
    cells = [[line.get_style_at_offset(Console(), x) for x in range(2)] for line in lines]
    assert [(rgb(s.color), rgb(s.bgcolor)) for s in cells[0]] == [
        ((255, 0, 0), (0, 0, 255)),
        ((0, 255, 0), (10, 20, 30)),
    ]
    # an odd last row: the upper half only, the terminal's own background below it
    assert [(rgb(s.color), rgb(s.bgcolor)) for s in cells[1]] == [
        ((1, 2, 3), None),
        ((4, 5, 6), None),
    ]


def test_tile_grid_lays_out_rows_of_tiles_with_gaps() -> None:
    tiles = np.zeros((2, 3, 4, 5, 3), dtype=np.uint8)  # 2 images × 3 columns of 4×5 pixels
    lines = tile_grid(tiles).plain.split("\n")
    band = " ".join([UPPER_HALF * 5] * 3)
    assert lines == [band, band, "", band, band]


def test_the_augment_section_previews_and_redraws_on_an_edit_while_typing_goes_on(
    presets_dir: Path, runs_dir: Path
) -> None:
    async def scenario() -> None:
        app = app_for(presets_dir, runs_dir)
        async with app.run_test(size=(100, 40)) as pilot:
            editor = await open_tiny(pilot, app)
            await show_section(pilot, editor, "Augment")
            preview = editor.query_one(AugmentPreview)
            await wait_for(pilot, lambda: preview.drawn == 1, CHILD_S, "the first preview")
            first = text_of(preview)
            tile = len(first.splitlines()[1].split(" ")[0])  # square tiles, half a cell high
            assert tile >= 8 and first.count(UPPER_HALF) == 2 * 5 * tile * ((tile + 1) // 2)
            assert "No preview" not in first
            assert preview.tiles is not None
            assert not mirrored(preview.tiles)  # a flip with probability 0.5: some are not

            flip = editor.query_one("#field-augment-horizontal_flip Input", Input)
            await retype(pilot, flip, "1")
            await wait_for(pilot, lambda: preview.busy, CHILD_S, "the redraw to start")
            # the app still takes keys while the child computes
            gray = editor.query_one("#field-augment-grayscale Input", Input)
            await retype(pilot, gray, "0")
            assert gray.value == "0" and preview.busy
            await wait_for(pilot, lambda: preview.drawn == 2, CHILD_S, "the redraw")
            assert mirrored(preview.tiles)  # probability 1: every draw is the mirror image

            await retype(pilot, flip, "2")  # invalid: a probability
            await wait_for(pilot, lambda: "No preview" in text_of(preview), 5, "the one line")
            assert text_of(preview).count("\n") == 0

    run(scenario())


def test_missing_data_is_said_in_one_line(presets_dir: Path, runs_dir: Path) -> None:
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
            editor = await open_tiny(pilot, app)
            await show_section(pilot, editor, "Augment")
            preview = editor.query_one(AugmentPreview)
            await wait_for(pilot, lambda: preview.drawn == 1, CHILD_S, "the preview's answer")
            shown = text_of(preview)
            assert shown.startswith("No preview: ") and "nowhere" in shown
            assert "\n" not in shown and "Traceback" not in shown

    run(scenario())


def test_editor_with_the_augment_preview_snapshot(
    snap_compare: Any, presets_dir: Path, runs_dir: Path
) -> None:
    async def open_augment(pilot: Pilot[Any]) -> None:
        app: Hw3tuiApp = pilot.app  # type: ignore[assignment]
        app.edit_preset(presets_dir / "tiny.yaml")
        await wait_for(pilot, lambda: isinstance(app.screen, EditorScreen))
        editor: EditorScreen = app.screen  # type: ignore[assignment]
        await wait_for(pilot, lambda: editor.query("#sections"))
        await show_section(pilot, editor, "Augment")
        preview = editor.query_one(AugmentPreview)
        await wait_for(pilot, lambda: preview.drawn == 1, CHILD_S, "the preview")
        await pilot.pause()

    assert snap_compare(Hw3tuiApp(), terminal_size=(80, 30), run_before=open_augment)
