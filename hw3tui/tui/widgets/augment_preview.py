"""The Augment section's preview: training images under draws of the preset's augmentation.

Drawn with half blocks ("▀": the upper pixel as foreground, the lower as background), so it shows
in any true-colour terminal, tmux and SSH included. The images are computed by a child process
(`python -m hw3tui.engine.inference.augment_child`, the engine's own `augment_preview`): the app
imports no torch and no engine, and decodes no image, so typing never waits for it. An edit
restarts the child after a short pause.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual import work
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from hw3tui.tui.document import PresetDocument
from hw3tui.untrusted import printable

if TYPE_CHECKING:
    import numpy as np

UPPER_HALF = "▀"
IMAGES = 2
DRAWS = 4
DEBOUNCE_S = 0.4
POLL_S = 0.05


def half_block(pixels: np.ndarray) -> Text:
    """An (H, W, 3) uint8 image as H/2 lines of W cells (an odd last row has no background)."""
    rows = pixels.tolist()
    text = Text(no_wrap=True, overflow="crop")
    for top in range(0, len(rows), 2):
        if top:
            text.append("\n")
        upper = rows[top]
        lower = rows[top + 1] if top + 1 < len(rows) else None
        for x, colour in enumerate(upper):
            below = None if lower is None else Color.from_rgb(*lower[x])
            text.append(UPPER_HALF, Style(color=Color.from_rgb(*colour), bgcolor=below))
    return text


def tile_grid(tiles: np.ndarray, gap: int = 1) -> Text:
    """(N, D, H, W, 3) tiles: one band of D images per row, `gap` blank cells between them."""
    bands: list[Text] = []
    for row in tiles:
        images = [half_block(tile).split("\n") for tile in row]
        lines = [Text(" " * gap).join(parts) for parts in zip(*images, strict=True)]
        bands.append(Text("\n").join(lines))
    return Text("\n\n").join(bands)


class AugmentPreview(Static):
    """What the preset's augmentation does: originals first, then draws (redrawn on edits)."""

    DEFAULT_CSS = """
    AugmentPreview {
        height: auto;
        padding: 0 0 1 0;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.drawn = 0
        """Previews drawn so far (for tests: a redraw is visible as a new count)."""
        self.busy = False
        self.tiles: np.ndarray | None = None
        """The tiles drawn last: (images, 1 + draws, H, W, 3) uint8."""
        self._wanted: str | None = None
        self._shown: str | None = None
        self._timer: Timer | None = None
        self._folder: Path | None = None
        """The child's files; made on the first draw, so a widget never shown leaves none behind."""

    def on_unmount(self) -> None:
        # a child being killed may still write into it: whatever is there goes
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    def request(self, document: PresetDocument) -> None:
        """Draw the document's augmentation after a pause (edits in a row draw once)."""
        if document.preset is None:
            self._wanted = None
            self.workers.cancel_group(self, "augment-preview")
            self.update(Text("No preview: fix the preset's problems first (listed below)."))
            self._shown = None
            return
        if document.text in (self._wanted, self._shown):
            return
        self._wanted = document.text
        if self._timer is not None:
            self._timer.stop()
        delay = POLL_S if self._shown is None and not self.busy else DEBOUNCE_S
        self._timer = self.set_timer(delay, self._start)

    def _start(self) -> None:
        if self._wanted is None:
            return
        if not all(node.display for node in self.ancestors_with_self if isinstance(node, Widget)):
            self._wanted = None  # the section was left: the next request (on showing it) draws
            return
        self._compute(self._wanted)

    @work(exclusive=True, group="augment-preview")
    async def _compute(self, text: str) -> None:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="hw3tui-augment-"))
        folder = self._folder
        preset_file = folder / "preset.yaml"
        out = folder / "tiles.npy"
        errors = folder / "stderr.txt"
        preset_file.write_text(text, encoding="utf-8")
        out.unlink(missing_ok=True)
        tile = max(8, min(16, (self.size.width or 60) // (DRAWS + 1) - 1))
        args = [str(preset_file), str(out), str(IMAGES), str(DRAWS), str(tile)]
        self.busy = True
        with errors.open("wb") as stderr:
            # Popen, not multiprocessing: multiprocessing started inside a running Textual app
            # fails (`bad value(s) in fds_to_keep`), Popen does
            child = subprocess.Popen(
                [sys.executable, "-m", "hw3tui.engine.inference.augment_child", *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        try:
            while child.poll() is None:
                await asyncio.sleep(POLL_S)
        finally:
            if child.poll() is None:  # cancelled by a newer edit
                child.kill()
                child.wait()
            self.busy = False
        self._shown = text
        if child.returncode == 0:
            import numpy as np

            tiles = np.load(out)
            self.tiles = tiles
            grid = tile_grid(tiles)
            caption = Text(f"first column: original · {DRAWS} draws of the augmentation\n")
            self.update(Text.assemble(caption, grid))
        else:
            lines = errors.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            reason = lines[-1] if lines else f"the preview process failed ({child.returncode})"
            self.update(Text(f"No preview: {printable(reason)}", no_wrap=True, overflow="ellipsis"))
        self.drawn += 1
