"""tests/data/tiny.yaml, the preset most end-to-end tests train, and the names its runs write."""

from __future__ import annotations

from pathlib import Path

import yaml

TINY = Path(__file__).resolve().parent / "data" / "tiny.yaml"
BACKBONE: str = yaml.safe_load(TINY.read_text(encoding="utf-8"))["backbone"]["name"]
"""The backbone a tiny run trains (its checkpoints are named after it)."""
BEST = f"{BACKBONE}_best.safetensors"
"""A tiny run's best checkpoint, as `best/BEST` (its chunks `BEST.000`, ...)."""
