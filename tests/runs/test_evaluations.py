"""A run's stored evaluation (eval/<key>.json + .npy): read back exactly as written, keyed by
best/SHA256SUMS, and anything else in its place (someone's edit, a hostile file) read as none."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hw3tui.runs import RunDir
from hw3tui.runs.evaluations import (
    StoredEvaluation,
    checkpoint_key,
    evaluation_files,
    read_evaluation,
    write_evaluation,
)

LABELS = [0, 0, 1, 1, 2, 2]
PREDICTED = [0, 1, 1, 1, 2, 0]


def stored(images: np.ndarray | None = None) -> StoredEvaluation:
    report = {
        "accuracy": 4 / 6,
        "loss": 0.5,
        "images": 6,
        "correct": 4,
        "classes": ["a", "b", "c"],
        "confusion": [[1, 1, 0], [0, 2, 0], [1, 0, 1]],
        "checkpoint": {"backbone": "resnet18", "epoch": 1, "value": 0.5},
        "data": "the run's val set",
        "run": "r",
        "recorded": {"epoch": 1, "val_acc": 4 / 6, "val_loss": 0.5},
        "device": "cpu",
    }
    pixels = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    return StoredEvaluation(
        report, LABELS, PREDICTED, ["a", "c"], ["b", "a"], 2, pixels if images is None else images
    )


@pytest.fixture
def run(tmp_path: Path) -> RunDir:
    folder = tmp_path / "run"
    (folder / "best").mkdir(parents=True)
    (folder / "best" / "SHA256SUMS").write_text(f"{'0' * 64}  m.safetensors.000\n")
    return RunDir(folder)


def key_of(run: RunDir) -> str:
    key = checkpoint_key(run)
    assert key == hashlib.sha256((run.best_dir / "SHA256SUMS").read_bytes()).hexdigest()
    return key


def test_written_is_read_back_and_a_new_best_has_another_key(run: RunDir) -> None:
    key = key_of(run)
    write_evaluation(run, key, stored())
    back = read_evaluation(run, key)
    assert back is not None
    assert back.report["confusion"] == stored().report["confusion"]
    assert (back.labels, back.predicted, back.mistakes_total) == (LABELS, PREDICTED, 2)
    assert np.array_equal(back.images, stored().images)
    (run.best_dir / "SHA256SUMS").write_text(f"{'1' * 64}  m.safetensors.000\n")
    new = key_of(run)
    assert new != key and read_evaluation(run, new) is None
    write_evaluation(run, new, stored())
    # the old checkpoint's evaluation is removed with it
    assert sorted(p.name for p in (run.path / "eval").iterdir()) == [f"{new}.json", f"{new}.npy"]


def test_no_sums_no_key(tmp_path: Path) -> None:
    assert checkpoint_key(RunDir(tmp_path)) is None


def edit(change: Callable[[dict[str, Any]], None]) -> Callable[[Path, Path], object]:
    def apply(data_file: Path, _images: Path) -> None:
        record = json.loads(data_file.read_text())
        change(record)
        data_file.write_text(json.dumps(record))

    return apply


def text(replace: str, by: str) -> Callable[[Path, Path], object]:
    def apply(data_file: Path, _images: Path) -> None:
        data_file.write_text(data_file.read_text().replace(replace, by, 1))

    return apply


def npy(array: Any, *, pickle: bool = False) -> Callable[[Path, Path], object]:
    def apply(_data: Path, images_file: Path) -> None:
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=pickle)
        images_file.write_bytes(buffer.getvalue())

    return apply


def swap_for_folder(data_file: Path, _images: Path) -> None:
    data_file.unlink()
    data_file.mkdir()


def symlinked(data_file: Path, _images: Path) -> None:
    moved = data_file.with_name("elsewhere")
    data_file.rename(moved)
    data_file.symlink_to(moved)


HOSTILE: dict[str, Callable[[Path, Path], object]] = {
    "NaN accuracy": text('"accuracy":0.6666666666666666', '"accuracy":NaN'),
    "Infinity loss": text('"loss":0.5', '"loss":Infinity'),
    "huge loss": text('"loss":0.5', '"loss":1e400'),
    "accuracy a string": edit(lambda r: r["report"].update(accuracy="0.66")),
    "accuracy not its diagonal": edit(lambda r: r["report"].update(accuracy=0.99)),
    "a huge count": edit(lambda r: r["report"]["confusion"][0].__setitem__(0, 10**400)),
    "a count true": edit(lambda r: r["report"]["confusion"][0].__setitem__(0, True)),
    "matrix not the images'": edit(lambda r: r["report"].update(confusion=[[2, 0, 0]] * 3)),
    "matrix not square": edit(lambda r: r["report"]["confusion"].pop()),
    "class out of range": edit(lambda r: r["predicted"].__setitem__(0, 7)),
    "negative class": edit(lambda r: r["labels"].__setitem__(0, -1)),
    "labels not a list": edit(lambda r: r.update(labels={"0": 0})),
    "one label short": edit(lambda r: r["labels"].pop()),
    "classes repeated": edit(lambda r: r["report"].update(classes=["a", "a", "c"])),
    "classes not text": edit(lambda r: r["report"].update(classes=[1, 2, 3])),
    "mistake of an unknown class": edit(lambda r: r["mistakes"].update(true=["a", "zz"])),
    "mistakes miscounted": edit(lambda r: r["mistakes"].update(total=5)),
    "another key": edit(lambda r: r.update(key="f" * 64)),
    "another format": edit(lambda r: r.update(format=99)),
    "not an object": lambda data, _: data.write_text("[1, 2]"),
    "not JSON": lambda data, _: data.write_text('{"format": 1, '),
    "deeply nested": lambda data, _: data.write_text("[" * 100_000 + "]" * 100_000),
    "not UTF-8": lambda data, _: data.write_bytes(b"\xff\xfe{"),
    "a folder": swap_for_folder,
    "a symlink": symlinked,
    "pixels missing": lambda _, images: images.unlink(),
    "pixels truncated": lambda _, images: images.write_bytes(images.read_bytes()[:90]),
    "pixels float": npy(np.zeros((2, 4, 4, 3), dtype=np.float32)),
    "pixels one image short": npy(np.zeros((1, 4, 4, 3), dtype=np.uint8)),
    "pixels flat": npy(np.zeros(96, dtype=np.uint8)),
    "pixels pickled": npy(np.array([{"a": 1}, None], dtype=object), pickle=True),
}


@pytest.mark.parametrize("damage", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_damaged_or_hostile_evaluation_reads_as_none(
    run: RunDir, damage: Callable[[Path, Path], object]
) -> None:
    key = key_of(run)
    write_evaluation(run, key, stored())
    assert read_evaluation(run, key) is not None
    damage(*evaluation_files(run, key))
    assert read_evaluation(run, key) is None


def test_hostile_report_fields_are_dropped_not_passed_on(run: RunDir) -> None:
    key = key_of(run)
    write_evaluation(run, key, stored())
    damage = edit(
        lambda r: r["report"].update(
            checkpoint={"epoch": [1], "value": 1e300, "metric": "val_acc", "x": {"y": 1}},
            recorded={"epoch": 1, "val_acc": "high", "val_loss": 1e300},
            device=5,
        )
    )
    damage(*evaluation_files(run, key))
    back = read_evaluation(run, key)
    assert back is not None
    assert back.report["checkpoint"] == {"metric": "val_acc"}
    assert back.report["recorded"] == {"epoch": 1, "val_acc": None, "val_loss": None}
    assert back.report["device"] == ""


def test_an_eval_folder_that_is_a_link_is_never_written_through(
    run: RunDir, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (run.path / "eval").symlink_to(elsewhere)
    with pytest.raises(OSError):
        write_evaluation(run, key_of(run), stored())
    assert list(elsewhere.iterdir()) == []
