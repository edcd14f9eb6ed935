"""Fixtures for the TUI tests: a presets folder with a commented preset, a runs folder, the app."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tui_fakes import TINY

COMMENTED = """\
# A preset with comments everywhere: the editor must keep every one of them.
name: tiny   # the run folder is named after this
seed: 0
data:
  source: shapes       # built in, nothing to download
  image_size: 32
  shapes: {classes: 3, train_per_class: 16, val_per_class: 8}
backbone:
  name: resnet18
  pretrained: false    # random start: works offline
optimizer:
  name: adamw
augment:
  horizontal_flip: 0.5 # mirror half the images
schedule:
  epochs: 2
  lr: 0.001            # small: the model is tiny
  batch_size: 16
checkpoint:
  chunk_mb: 8
runtime:
  device: cpu
# end of the preset
"""


@pytest.fixture
def presets_dir(isolated: Path) -> Path:
    """`presets/` in the working directory with `tiny.yaml` (commented) and `other.yaml`."""
    folder = isolated / "presets"
    folder.mkdir()
    (folder / "tiny.yaml").write_text(COMMENTED)
    (folder / "other.yaml").write_text(
        TINY.read_text().replace("name: tiny", "name: other").replace("lr: 0.001", "lr: 0.01")
    )
    return folder


@pytest.fixture
def runs_dir(isolated: Path) -> Path:
    return isolated / "runs"


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times on screen in UTC, whatever the machine's zone (snapshots must not depend on it)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
