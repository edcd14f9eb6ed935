"""Fixtures that write tiny image data sets with PIL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from engine_helpers import write_image


@pytest.fixture
def image_folder() -> Callable[..., Path]:
    """Write `root/<class>/<i>.png` for each class."""

    def make(root: Path, classes: Sequence[str] = ("0", "1", "2"), per_class: int = 6) -> Path:
        for label in classes:
            for i in range(per_class):
                write_image(root / label / f"{i}.png", label, hash((label, i)) % 1000)
        return root

    return make


@pytest.fixture
def food_folder() -> Callable[..., Path]:
    """Write Food-11 style `root/<class>_<i>.jpg` files."""

    def make(root: Path, classes: Sequence[str] = ("0", "1", "2"), per_class: int = 6) -> Path:
        for label in classes:
            for i in range(per_class):
                write_image(root / f"{label}_{i}.jpg", label, hash((label, i)) % 1000)
        return root

    return make
