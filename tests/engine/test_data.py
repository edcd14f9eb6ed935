"""Finding, checking, decoding and batching images for every data source."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from engine_helpers import write_image

from hw3tui.engine.data.batches import Batches, batch_slices, epoch_order
from hw3tui.engine.data.datasets import Split, load_dataset
from hw3tui.engine.data.shapes import SHAPES, draw_shapes
from hw3tui.engine.data.sources import DataError, natural_key, stratified_split
from hw3tui.engine.seeds import Stream, seed_sequence
from hw3tui.preset.models import Data

CPU = torch.device("cpu")


def data(**fields: object) -> Data:
    return Data.model_validate({"image_size": 16, **fields})


def test_imagefolder_with_val_folder(tmp_path: Path, image_folder: Callable[..., Path]) -> None:
    image_folder(tmp_path / "train", classes=("0", "1", "2", "10"), per_class=4)
    image_folder(tmp_path / "val", classes=("0", "1", "2", "10"), per_class=2)
    dataset = load_dataset(
        data(source="imagefolder", train="train", val="val"), seed=0, base_dir=tmp_path
    )
    assert dataset.classes == ("0", "1", "2", "10")  # natural order: 10 after 2
    assert len(dataset.train) == 16 and len(dataset.val) == 8
    assert dataset.cached and dataset.train.images is not None
    assert dataset.train.images.shape == (16, 3, 16, 16)
    assert dataset.train.images.dtype == torch.uint8
    assert dataset.cache_bytes == 24 * 3 * 16 * 16


def test_decoded_pixels_keep_the_colour(tmp_path: Path, image_folder: Callable[..., Path]) -> None:
    image_folder(tmp_path / "train", classes=("0", "1"), per_class=3)
    dataset = load_dataset(
        data(source="imagefolder", train="train", val_split=0.34), seed=0, base_dir=tmp_path
    )
    assert dataset.train.images is not None
    red_images = dataset.train.images[dataset.train.labels == 0].float()
    assert red_images[:, 0].mean() > 150 and red_images[:, 2].mean() < 100


def test_filenames_source_reads_labels_from_names(
    tmp_path: Path, food_folder: Callable[..., Path]
) -> None:
    food_folder(tmp_path / "training", classes=("0", "2", "10"), per_class=3)
    food_folder(tmp_path / "validation", classes=("0", "2", "10"), per_class=1)
    dataset = load_dataset(
        data(source="filenames", train="training", val="validation"), seed=0, base_dir=tmp_path
    )
    assert dataset.classes == ("0", "2", "10")
    assert sorted(dataset.val.labels.tolist()) == [0, 1, 2]


def test_csv_source_with_header_and_relative_paths(tmp_path: Path) -> None:
    folder = tmp_path / "lists"
    for i in range(4):
        write_image(folder / "img" / f"a{i}.png", "0", i)
        write_image(folder / "img" / f"b{i}.png", "1", i + 10)
    rows = ["path,label"] + [f"img/a{i}.png,cat" for i in range(4)]
    rows += [f"img/b{i}.png,dog" for i in range(4)]
    (folder / "train.csv").write_text("\n".join(rows) + "\n")
    dataset = load_dataset(
        data(source="csv", train="lists/train.csv", val_split=0.25), seed=0, base_dir=tmp_path
    )
    assert dataset.classes == ("cat", "dog")
    assert len(dataset.train) == 6 and len(dataset.val) == 2


def test_stratified_split_is_seeded_and_keeps_every_class() -> None:
    samples = [(Path(f"{c}{i}.png"), c) for c in "abc" for i in range(10)]
    train, val = stratified_split(samples, 0.2, seed=3)
    assert sorted(label for _, label in val) == ["a", "a", "b", "b", "c", "c"]
    assert not set(train) & set(val)
    assert stratified_split(samples, 0.2, seed=3) == (train, val)
    assert stratified_split(samples, 0.2, seed=4) != (train, val)


def test_natural_key_orders_numbers_numerically() -> None:
    names = ["10", "2", "1", "img10", "img9", "B", "a"]
    assert sorted(names, key=natural_key) == ["1", "2", "10", "a", "B", "img9", "img10"]


@pytest.mark.parametrize(
    ("setup", "fields", "message"),
    [
        ("nothing", {"source": "imagefolder", "train": "missing"}, "no such folder"),
        ("empty_class", {"source": "imagefolder", "train": "train"}, "class 'b' has no images"),
        ("broken_image", {"source": "imagefolder", "train": "train"}, "cannot read image"),
        (
            "class_mismatch",
            {"source": "imagefolder", "train": "train", "val": "val"},
            "only in val: c",
        ),
        ("no_classes", {"source": "imagefolder", "train": "train"}, "no class sub-folders"),
        ("one_class", {"source": "imagefolder", "train": "train"}, "only one class"),
        ("bad_name", {"source": "filenames", "train": "flat"}, "finds no label in 'x.png'"),
        ("csv_columns", {"source": "csv", "train": "list.csv"}, "list.csv:2: expected 2 columns"),
        ("csv_missing", {"source": "csv", "train": "list.csv"}, "list.csv:1: no such image"),
        ("file_not_folder", {"source": "imagefolder", "train": "list.csv"}, "not a folder"),
    ],
)
def test_bad_data_is_one_clear_error(
    tmp_path: Path, setup: str, fields: dict[str, str], message: str
) -> None:
    def images(root: Path, labels: str, count: int = 3) -> None:
        for label in labels:
            for i in range(count):
                write_image(root / label / f"{i}.png", "0", i)

    if setup == "empty_class":
        images(tmp_path / "train", "a")
        (tmp_path / "train" / "b").mkdir()
    elif setup == "broken_image":
        images(tmp_path / "train", "ab")
        (tmp_path / "train" / "a" / "9.jpg").write_bytes(b"not really a jpeg")
    elif setup == "class_mismatch":
        images(tmp_path / "train", "ab")
        images(tmp_path / "val", "ac")
    elif setup == "no_classes":
        write_image(tmp_path / "train" / "loose.png", "0", 0)
    elif setup == "one_class":
        images(tmp_path / "train", "a")
    elif setup == "bad_name":
        write_image(tmp_path / "flat" / "1_0.png", "0", 0)
        write_image(tmp_path / "flat" / "x.png", "0", 1)
    elif setup == "csv_columns":
        write_image(tmp_path / "a.png", "0", 0)
        (tmp_path / "list.csv").write_text("a.png,cat\na.png,cat,extra\n")
    elif setup in ("csv_missing", "file_not_folder"):
        (tmp_path / "list.csv").write_text("gone.png,cat\n")
    with pytest.raises(DataError, match=message) as caught:
        load_dataset(data(**fields), seed=0, base_dir=tmp_path)
    assert "\n" not in str(caught.value)


def test_streams_from_files_when_it_does_not_fit(
    tmp_path: Path, image_folder: Callable[..., Path]
) -> None:
    image_folder(tmp_path / "train", classes=("0", "1"), per_class=5)
    fields = {"source": "imagefolder", "train": "train", "val_split": 0.2}
    cached = load_dataset(data(**fields), seed=0, base_dir=tmp_path, memory=10**9)
    streamed = load_dataset(data(**fields), seed=0, base_dir=tmp_path, memory=1000)
    assert cached.cached and cached.cache_bytes > 0
    assert not streamed.cached and streamed.cache_bytes == 0 and streamed.train.files
    # the same epoch gives the same batches either way
    for workers in (0, 1):
        a = Batches(cached.train, batch_size=3, seed=5, shuffle=True, device=CPU, workers=0)
        b = Batches(streamed.train, batch_size=3, seed=5, shuffle=True, device=CPU, workers=workers)
        for (xa, ya), (xb, yb) in zip(a.epoch(2), b.epoch(2), strict=True):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_cache_false_and_true_override_auto(
    tmp_path: Path, image_folder: Callable[..., Path]
) -> None:
    image_folder(tmp_path / "train", classes=("0", "1"), per_class=3)
    base = {"source": "imagefolder", "train": "train", "val_split": 0.34}
    assert not load_dataset(data(**base, cache=False), seed=0, base_dir=tmp_path).cached
    assert load_dataset(data(**base, cache=True), seed=0, base_dir=tmp_path, memory=1).cached


def test_epoch_order_depends_only_on_seed_and_epoch() -> None:
    assert torch.equal(epoch_order(50, seed=1, epoch=3), epoch_order(50, seed=1, epoch=3))
    assert not torch.equal(epoch_order(50, seed=1, epoch=3), epoch_order(50, seed=1, epoch=4))
    assert sorted(epoch_order(50, seed=1, epoch=3).tolist()) == list(range(50))


def test_batches_resume_part_way_through_an_epoch() -> None:
    images = torch.arange(11, dtype=torch.uint8).view(11, 1, 1, 1).expand(11, 3, 2, 2).clone()
    split = Split(torch.arange(11), 2, images=images)
    batches = Batches(split, batch_size=3, seed=0, shuffle=True, device=CPU, workers=0)
    whole = [y.tolist() for _, y in batches.epoch(1)]
    rest = [y.tolist() for _, y in batches.epoch(1, start=2)]
    assert rest == whole[2:]
    assert len(batches) == 4 and sorted(i for batch in whole for i in batch) == list(range(11))


def test_a_last_batch_of_one_is_dropped_when_training() -> None:
    assert batch_slices(9, 4, drop_single=True) == [(0, 4), (4, 8)]
    assert batch_slices(9, 4, drop_single=False) == [(0, 4), (4, 8), (8, 9)]
    assert batch_slices(10, 4, drop_single=True)[-1] == (8, 10)


def test_shapes_are_deterministic_and_val_differs() -> None:
    a, labels = draw_shapes(
        classes=4, per_class=3, image_size=24, seed=seed_sequence(0, Stream.SHAPES_TRAIN)
    )
    b, _ = draw_shapes(
        classes=4, per_class=3, image_size=24, seed=seed_sequence(0, Stream.SHAPES_TRAIN)
    )
    val, _ = draw_shapes(
        classes=4, per_class=3, image_size=24, seed=seed_sequence(0, Stream.SHAPES_VAL)
    )
    assert torch.equal(a, b) and not torch.equal(a, val)
    assert labels.tolist() == [0, 1, 2, 3] * 3
    assert a.shape == (12, 3, 24, 24) and a.dtype == torch.uint8
    assert a.float().std() > 30  # colourful and noisy, not blank


def test_shapes_source_names_its_classes() -> None:
    dataset = load_dataset(
        data(source="shapes", shapes={"classes": 5, "train_per_class": 2, "val_per_class": 1}),
        seed=0,
        base_dir=Path.cwd(),
    )
    assert dataset.classes == SHAPES[:5]
    assert (len(dataset.train), len(dataset.val)) == (10, 5)
