"""Helpers for engine tests: tiny images written with PIL, and training jobs from tiny.yaml."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image
from torch import nn

from hw3tui.preset import load_preset

if TYPE_CHECKING:
    from hw3tui.engine.training.loop import Job

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "data" / "tiny.yaml"

COLOURS = {"0": (220, 40, 40), "1": (40, 200, 60), "2": (40, 60, 220), "10": (230, 230, 40)}


def write_image(path: Path, label: str, index: int, size: int = 20) -> Path:
    """A small image whose colour says its class (learnable), with a little noise."""
    rng = np.random.default_rng(index)
    colour = np.array(COLOURS.get(label, (128, 128, 128)), dtype=np.float64)
    pixels = np.clip(colour + rng.normal(0, 12, (size, size + 4, 3)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def job_from(
    overrides: Sequence[str] = (), base_dir: Path | None = None, module: nn.Module | None = None
) -> Job:
    """A training job for tests/data/tiny.yaml with `--set` overrides (and another model)."""
    from hw3tui.engine.training.job import make_job, prepare

    setup = prepare(load_preset(TINY, list(overrides)), base_dir=base_dir or Path.cwd())
    if module is not None:
        setup.module = module
    return make_job(setup)


class TinyNet(nn.Module):
    """A very small CNN; `nan_at` makes its n-th training forward return NaN; without `norm`
    (batch norm), a tiny lr leaves its predictions, and so its val accuracy, unchanged."""

    def __init__(self, classes: int = 3, nan_at: int | None = None, norm: bool = True) -> None:
        super().__init__()
        torch.manual_seed(0)  # the same start every time
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.BatchNorm2d(8) if norm else nn.Identity(),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.fc = nn.Linear(8, classes)
        self.nan_at, self.calls = nan_at, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.fc(self.features(x).flatten(1))
        if self.training:
            self.calls += 1
            if self.calls == self.nan_at:
                out = out * float("nan")
        return out
