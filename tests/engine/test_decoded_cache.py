"""The decoded-image cache on disk: a second run on the same files decodes nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from engine_helpers import write_image

from hw3tui.engine.data import datasets as data_module
from hw3tui.engine.data.datasets import Dataset, decoded_cache, load_dataset
from hw3tui.preset.models import Data


def load(root: Path, image_size: int = 16) -> Dataset:
    spec = Data.model_validate(
        {"source": "imagefolder", "train": "train", "val": "val", "image_size": image_size}
    )
    return load_dataset(spec, seed=0, base_dir=root)


@pytest.fixture
def folders(tmp_path: Path, image_folder: Callable[..., Path]) -> Path:
    image_folder(tmp_path / "train", classes=("a", "b"), per_class=4)
    image_folder(tmp_path / "val", classes=("a", "b"), per_class=2)
    return tmp_path


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file decoded from here on."""
    seen: list[Path] = []
    read = data_module.read_image

    def counting(path: Path, size: int) -> object:
        seen.append(path)
        return read(path, size)

    monkeypatch.setattr(data_module, "read_image", counting)
    return seen


def test_second_load_decodes_nothing_and_gives_the_same_pixels(
    folders: Path, decodes: list[Path]
) -> None:
    first = load(folders)
    assert len(decodes) == 12
    assert len(list(decoded_cache.folder().glob("*.safetensors"))) == 2  # train and val
    second = load(folders)
    assert len(decodes) == 12  # nothing decoded again
    for a, b in ((first.train, second.train), (first.val, second.val)):
        assert a.images is not None and b.images is not None
        assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)


def test_a_changed_file_or_another_size_decodes_again(folders: Path, decodes: list[Path]) -> None:
    load(folders)
    changed = folders / "train" / "a" / "0.png"
    write_image(changed, "b", 7)
    info = changed.stat()
    os.utime(changed, ns=(info.st_atime_ns, info.st_mtime_ns + 10**9))
    decodes.clear()
    again = load(folders)
    assert len(decodes) == 8  # train only: val did not change
    assert again.train.images is not None
    decodes.clear()
    load(folders, image_size=24)
    assert len(decodes) == 12


def test_an_entry_that_does_not_read_back_is_decoded_again(
    folders: Path, decodes: list[Path]
) -> None:
    first = load(folders)
    for entry in decoded_cache.folder().glob("*.safetensors"):
        entry.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage")
    decodes.clear()
    second = load(folders)
    assert len(decodes) == 12
    assert first.train.images is not None and second.train.images is not None
    assert torch.equal(first.train.images, second.train.images)


def test_the_folder_keeps_under_its_cap_dropping_the_least_recently_used(
    folders: Path, monkeypatch: pytest.MonkeyPatch, decodes: list[Path]
) -> None:
    one_split = 8 * 3 * 16 * 16  # the train split's bytes (val is half)
    monkeypatch.setenv(decoded_cache.CAP_ENV, str((one_split * 1.3) / 1e9))
    load(folders)
    entries = list(decoded_cache.folder().glob("*.safetensors"))
    assert len(entries) == 1  # train's, written first, dropped to make room for val's
    assert sum(e.stat().st_size for e in entries) <= one_split * 1.3


def test_a_cap_of_zero_turns_it_off(
    folders: Path, monkeypatch: pytest.MonkeyPatch, decodes: list[Path]
) -> None:
    monkeypatch.setenv(decoded_cache.CAP_ENV, "0")
    load(folders)
    load(folders)
    assert len(decodes) == 24
    assert not decoded_cache.folder().exists()
