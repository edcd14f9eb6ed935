"""The editor's augmentation preview, computed in a child process (`python -m` this module).

The TUI never imports torch or the engine: decoding images and running the augmentation in the
app's process (even in a thread) stalls key presses, so the editor starts this module as a child,
like `hw3tui run`, and reads back a .npy of small tiles. The tiles come from the engine's
`augment_preview`, the code behind `hw3tui augment PRESET -o grid.png`: what the preview shows is
what trains. It lives in the engine because that is what it imports.

Usage: `python -m hw3tui.engine.inference.augment_child PRESET_FILE OUT.npy IMAGES DRAWS TILE`.
Bad input (an invalid preset, missing data) exits 2 with one line on stderr, never a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hw3tui import exits

if TYPE_CHECKING:
    import numpy as np


def main(argv: list[str]) -> int:
    preset_file, out, images, draws, tile = argv
    if hasattr(os, "nice"):  # not on Windows
        os.nice(5)  # the app the user types into comes first
    from hw3tui.preset import PresetError, validate_text
    from hw3tui.preset.yamlio import read_file

    try:
        loaded = validate_text(read_file(Path(preset_file), "preset"), "preset")
    except PresetError as exc:
        first = next(iter(exc.problems), None)
        print(f"the preset has problems{': ' + first.message if first else ''}", file=sys.stderr)
        return exits.BAD_INPUT

    import numpy as np
    import torch

    from hw3tui.engine.data.sources import DataError
    from hw3tui.engine.inference.augment_preview import augment_preview

    torch.set_num_threads(1)
    try:
        # data paths are relative to the working directory, as for `hw3tui augment`
        shown = augment_preview(
            loaded.preset, base_dir=Path.cwd(), images=int(images), draws=int(draws)
        )
    except DataError as exc:
        print(str(exc), file=sys.stderr)
        return exits.BAD_INPUT
    tiles = np.concatenate([shown.originals[:, None], shown.draws], axis=1)
    np.save(out, _shrink(tiles, int(tile)))
    return exits.OK


def _shrink(tiles: np.ndarray, size: int) -> np.ndarray:
    """(N, D, H, W, 3) uint8 tiles, each resized to (size, size) with antialiasing."""
    import torch
    from torch.nn.functional import interpolate

    pixels = torch.from_numpy(tiles)
    n, d, h, w, c = pixels.shape
    flat = pixels.reshape(n * d, h, w, c).permute(0, 3, 1, 2).float()
    small = interpolate(flat, size=(size, size), mode="bilinear", antialias=True)
    rounded = small.round().clamp(0, 255).to(torch.uint8)
    return rounded.permute(0, 2, 3, 1).reshape(n, d, size, size, c).numpy()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
