"""tests/data/tiny.yaml, the preset most end-to-end tests train, and the names its runs write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from hw3tui.preset import load_preset

TINY = Path(__file__).resolve().parent / "data" / "tiny.yaml"
BACKBONE: str = load_preset(TINY).preset.backbone.name
"""The backbone a tiny run trains (its checkpoints are named after it)."""
BEST = f"{BACKBONE}_best.safetensors"
"""A tiny run's best checkpoint, as `best/BEST` (its chunks `BEST.000`, ...)."""


def colour_images(folder: str | Path, per_class: int = 6) -> Path:
    """`folder/<red|green|blue>/<i>.png`: three classes of plain-coloured 24x20 images, which a
    tiny run learns in seconds (an image folder: its size is not in the preset). The folder,
    absolute."""
    for channel, label in enumerate(("red", "green", "blue")):
        for i in range(per_class):
            pixels = np.full((20, 24, 3), 40, dtype=np.uint8)
            pixels[..., channel] = 210
            path = Path(folder, label, f"{i}.png")
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(path)
    return Path(folder).resolve()
