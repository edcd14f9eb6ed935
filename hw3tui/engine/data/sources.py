"""Where a preset's labelled images are: every source (`imagefolder`, `filenames`, `csv`)
becomes a list of (file, class name) samples per split, checked before anything is decoded (a
missing folder, an empty class, different classes in train and val are a `DataError`, one line).
A class name with a control character in it is refused: it would reach terminals, checkpoints and
CSVs, and escaping it instead would make two names (`a<ESC>` and a typed `a\x1b`) one."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hw3tui.engine.seeds import Stream, seed_sequence
from hw3tui.errors import DataError as DataError  # defined with its family
from hw3tui.preset.models import Data
from hw3tui.untrusted import control_character, printable

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
)


CSV_HEADER_NAMES = frozenset({"path", "file", "filename", "image", "img", "label", "class"})


Sample = tuple[Path, str]
"""An image file and its class name."""


def index_samples(data: Data, *, seed: int, base_dir: Path) -> tuple[list[Sample], list[Sample]]:
    assert data.train is not None  # the preset model requires it for file sources
    train = _samples(data, "train", _resolve(data.train, base_dir))
    if data.val is not None:
        val = _samples(data, "val", _resolve(data.val, base_dir))
        _same_classes(train, val)
        return train, val
    fraction = data.effective_val_split
    assert fraction is not None
    return stratified_split(train, fraction, seed=seed)


def _resolve(path: Path, base_dir: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else base_dir / path


def _samples(data: Data, split: str, path: Path) -> list[Sample]:
    field, where = f"data.{split}", printable(path)
    if data.source == "csv":
        if not path.is_file():
            raise DataError(f"{field}: no such CSV file: {where}")
        samples = _csv_samples(path)
    else:
        if not path.exists():
            raise DataError(f"{field}: no such folder: {where}")
        if not path.is_dir():
            raise DataError(f"{field}: not a folder: {where} (source {data.source} reads a folder)")
        samples = (
            _folder_samples(path)
            if data.source == "imagefolder"
            else _filename_samples(path, data.label_pattern)
        )
    if not samples:
        raise DataError(f"{field}: no images in {where}")
    for image, label in samples:  # so every class name met after this is plain text
        if (found := control_character(label)) is not None:
            raise DataError(
                f"{printable(image)}: class name '{printable(label)}' holds a control character "
                f"({found}); rename it"
            )
    return samples


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _folder_samples(root: Path) -> list[Sample]:
    """ImageFolder layout: one sub-folder per class, images anywhere below it."""
    class_dirs = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: natural_key(p.name),
    )
    if not class_dirs:
        where = printable(root)
        raise DataError(
            f"{where}: no class sub-folders (imagefolder expects {where}/<class>/*.jpg)"
        )
    samples: list[Sample] = []
    for folder in class_dirs:
        images = sorted((p for p in folder.rglob("*") if p.is_file() and _is_image(p)), key=str)
        if not images:
            raise DataError(printable(f"{folder}: class '{folder.name}' has no images"))
        samples.extend((p, folder.name) for p in images)
    return samples


def _filename_samples(root: Path, pattern: str) -> list[Sample]:
    """Food-11 layout: `3_120.jpg` is an image of class 3 (the pattern's first group)."""
    regex = re.compile(pattern)
    samples: list[Sample] = []
    unmatched: list[str] = []
    for path in sorted(root.iterdir(), key=lambda p: natural_key(p.name)):
        if not (path.is_file() and _is_image(path)):
            continue
        match = regex.search(path.name)
        if match is None or not match.group(1):
            unmatched.append(path.name)
            continue
        samples.append((path, match.group(1)))
    if unmatched:
        more = f" and {len(unmatched) - 1} more" if len(unmatched) > 1 else ""
        raise DataError(
            printable(f"{root}: label_pattern '{pattern}' finds no label in '{unmatched[0]}'{more}")
        )
    return samples


def _csv_samples(path: Path) -> list[Sample]:
    """Rows of `path,label`; image paths are relative to the CSV's folder; a header is allowed."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError:
        raise DataError(f"{printable(path)}: not a UTF-8 text file") from None
    except (OSError, csv.Error) as exc:
        raise DataError(printable(f"{path}: cannot read: {exc}")) from None
    samples: list[Sample] = []
    for line, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if len(cells) != 2:
            raise DataError(
                f"{printable(path)}:{line}: expected 2 columns (path,label), got {len(cells)}"
            )
        file, label = cells
        if not samples and _is_header(file, label, path.parent):
            continue
        if not file or not label:
            raise DataError(f"{printable(path)}:{line}: empty {'path' if not file else 'label'}")
        image = _resolve(Path(file), path.parent)
        if not image.is_file():
            raise DataError(printable(f"{path}:{line}: no such image: {image}"))
        samples.append((image, label))
    return samples


def _is_header(file: str, label: str, folder: Path) -> bool:
    named = file.lower() in CSV_HEADER_NAMES or label.lower() in CSV_HEADER_NAMES
    return named and not (folder / file).is_file()


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts "2" before "10" and "img9" before "img10"."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.lower())
        for part in re.split(r"(\d+)", text)
        if part
    )


def class_names(train: Sequence[Sample], val: Sequence[Sample]) -> tuple[str, ...]:
    names = sorted({label for _, label in train}, key=natural_key)
    if len(names) < 2:
        raise DataError(f"the training images hold only one class ('{names[0]}'): need two or more")
    if not val:
        raise DataError("the validation set is empty")
    return tuple(names)


def _same_classes(train: Sequence[Sample], val: Sequence[Sample]) -> None:
    train_classes = {label for _, label in train}
    val_classes = {label for _, label in val}
    if train_classes == val_classes:
        return
    parts = []
    if only_train := sorted(train_classes - val_classes, key=natural_key):
        parts.append("only in train: " + ", ".join(only_train[:10]))
    if only_val := sorted(val_classes - train_classes, key=natural_key):
        parts.append("only in val: " + ", ".join(only_val[:10]))
    raise DataError("train and val have different classes (" + "; ".join(parts) + ")")


def stratified_split(
    samples: Sequence[Sample], fraction: float, *, seed: int
) -> tuple[list[Sample], list[Sample]]:
    """Hold out `fraction` of each class (at least one image of a class with two or more)."""
    generator = np.random.default_rng(seed_sequence(seed, Stream.SPLIT))
    by_class: dict[str, list[Sample]] = {}
    for sample in samples:
        by_class.setdefault(sample[1], []).append(sample)
    train: list[Sample] = []
    val: list[Sample] = []
    for label in sorted(by_class, key=natural_key):
        members = by_class[label]
        order = generator.permutation(len(members))
        held = min(len(members) - 1, max(1, round(len(members) * fraction)))
        val.extend(members[i] for i in sorted(order[:held]))
        train.extend(members[i] for i in sorted(order[held:]))
    return train, val
