"""Training and validation images: found, checked, decoded once, and served as uint8 batches.

Every source (`imagefolder`, `filenames`, `csv`, `shapes`) becomes the same thing: a list of
labelled samples per split, checked before any training starts (a missing folder, an unreadable
image, an empty class or different classes in train and val are a `DataError`, one line). When the
images fit comfortably in memory they are decoded once into a uint8 tensor (N, 3, S, S) at the
model's image size; otherwise they are decoded from their files every epoch by loader workers.
Either way the training loop receives uint8 batches and augments them as tensors on its device.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from hw3tui.engine.seeds import Stream, seed_sequence
from hw3tui.engine.shapes import SHAPES, draw_shapes
from hw3tui.preset.models import Data

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
)
CACHE_FRACTION = 0.25
"""`cache: auto` decodes into memory when the images take at most this share of available RAM."""
CSV_HEADER_NAMES = frozenset({"path", "file", "filename", "image", "img", "label", "class"})


class DataError(ValueError):
    """Bad training data: one line saying what and where; the run does not start."""


@dataclass(frozen=True)
class Split:
    """One split's images: in memory (`images`) or as files decoded on demand (`files`)."""

    labels: torch.Tensor
    """int64 (N,) class indices."""
    size: int
    """Side of the square images, in pixels."""
    images: torch.Tensor | None = None
    """uint8 (N, 3, S, S), when cached."""
    files: tuple[Path, ...] | None = None
    """Image files, when streamed."""

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def cached(self) -> bool:
        return self.images is not None


@dataclass(frozen=True)
class Dataset:
    """Both splits, their class names (index order) and where the images live."""

    classes: tuple[str, ...]
    train: Split
    val: Split
    image_size: int
    cache_bytes: int
    """Bytes of decoded images held in memory (0 when streamed)."""
    description: str

    @property
    def cached(self) -> bool:
        return self.train.cached

    @property
    def cache_mb(self) -> float:
        return round(self.cache_bytes / 2**20, 2)


Sample = tuple[Path, str]
"""An image file and its class name."""


def load_dataset(
    data: Data, *, seed: int, base_dir: Path, workers: int = 0, memory: int | None = None
) -> Dataset:
    """Find, check and (when it fits) decode the preset's images.

    Relative paths resolve against `base_dir` (the working directory the run started in).
    `memory` is the available RAM in bytes (read from the system when None).
    """
    size = data.image_size
    if data.source == "shapes":
        return _shapes(data, seed=seed)
    train_items, val_items = _index(data, seed=seed, base_dir=base_dir)
    classes = _class_names(train_items, val_items)
    index = {name: i for i, name in enumerate(classes)}
    cache_bytes = (len(train_items) + len(val_items)) * 3 * size * size
    cache = _should_cache(data.cache, cache_bytes, memory)
    threads = max(1, workers, _cpu_count())
    train = _split(train_items, index, size, cache=cache, threads=threads)
    val = _split(val_items, index, size, cache=cache, threads=threads)
    where = f"{data.train}" + (f" + {data.val}" if data.val is not None else "")
    return Dataset(
        classes=classes,
        train=train,
        val=val,
        image_size=size,
        cache_bytes=cache_bytes if cache else 0,
        description=f"{data.source} {where}",
    )


def _shapes(data: Data, *, seed: int) -> Dataset:
    options, size = data.shapes, data.image_size
    train_images, train_labels = draw_shapes(
        classes=options.classes,
        per_class=options.train_per_class,
        image_size=size,
        seed=seed_sequence(seed, Stream.SHAPES_TRAIN),
    )
    val_images, val_labels = draw_shapes(
        classes=options.classes,
        per_class=options.val_per_class,
        image_size=size,
        seed=seed_sequence(seed, Stream.SHAPES_VAL),
    )
    return Dataset(
        classes=SHAPES[: options.classes],
        train=Split(train_labels, size, images=train_images),
        val=Split(val_labels, size, images=val_images),
        image_size=size,
        cache_bytes=train_images.nbytes + val_images.nbytes,
        description=f"shapes (built in, {options.classes} classes)",
    )


# --- finding samples -------------------------------------------------------------------------


def _index(data: Data, *, seed: int, base_dir: Path) -> tuple[list[Sample], list[Sample]]:
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
    field = f"data.{split}"
    if data.source == "csv":
        if not path.is_file():
            raise DataError(f"{field}: no such CSV file: {path}")
        samples = _csv_samples(path)
    else:
        if not path.exists():
            raise DataError(f"{field}: no such folder: {path}")
        if not path.is_dir():
            raise DataError(f"{field}: not a folder: {path} (source {data.source} reads a folder)")
        samples = (
            _folder_samples(path)
            if data.source == "imagefolder"
            else _filename_samples(path, data.label_pattern)
        )
    if not samples:
        raise DataError(f"{field}: no images in {path}")
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
        raise DataError(f"{root}: no class sub-folders (imagefolder expects {root}/<class>/*.jpg)")
    samples: list[Sample] = []
    for folder in class_dirs:
        images = sorted((p for p in folder.rglob("*") if p.is_file() and _is_image(p)), key=str)
        if not images:
            raise DataError(f"{folder}: class '{folder.name}' has no images")
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
            f"{root}: label_pattern '{pattern}' finds no label in '{unmatched[0]}'{more}"
        )
    return samples


def _csv_samples(path: Path) -> list[Sample]:
    """Rows of `path,label`; image paths are relative to the CSV's folder; a header is allowed."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None
    except (OSError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    samples: list[Sample] = []
    for line, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if len(cells) != 2:
            raise DataError(f"{path}:{line}: expected 2 columns (path,label), got {len(cells)}")
        file, label = cells
        if not samples and _is_header(file, label, path.parent):
            continue
        if not file or not label:
            raise DataError(f"{path}:{line}: empty {'path' if not file else 'label'}")
        image = _resolve(Path(file), path.parent)
        if not image.is_file():
            raise DataError(f"{path}:{line}: no such image: {image}")
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


def _class_names(train: Sequence[Sample], val: Sequence[Sample]) -> tuple[str, ...]:
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


# --- decoding --------------------------------------------------------------------------------


def decode_image(path: Path, size: int) -> np.ndarray:
    """An image file as uint8 (S, S, 3): shorter side resized to `size`, centre cropped."""
    with Image.open(path) as image:
        # JPEG: let the decoder scale down by 2/4/8 while staying at least `size` on each side
        image.draft("RGB", (size, size))
        rgb = image.convert("RGB")
    fitted = ImageOps.fit(rgb, (size, size), method=Image.Resampling.BILINEAR)
    return np.asarray(fitted, dtype=np.uint8)


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn PIL's errors while reading `path` into one `DataError` that names the file."""
    try:
        yield
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        reason = "not an image PIL can read" if isinstance(exc, UnidentifiedImageError) else exc
        raise DataError(f"cannot read image {path}: {reason}") from None


def read_image(path: Path, size: int) -> np.ndarray:
    """`decode_image`, with a `DataError` naming the file when it cannot be read."""
    with _reading(path):
        return decode_image(path, size)


def check_header(path: Path) -> None:
    """Open `path`'s image header (cheap: no pixels decoded); a `DataError` when it is not one."""
    with _reading(path), Image.open(path) as image:
        image.size  # noqa: B018 - opening reads the header; that is the check


def _split(
    samples: Sequence[Sample], index: dict[str, int], size: int, *, cache: bool, threads: int
) -> Split:
    labels = torch.tensor([index[label] for _, label in samples], dtype=torch.int64)
    files = [path for path, _ in samples]
    if not cache:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(check_header, files))
        return Split(labels, size, files=tuple(files))
    images = torch.empty((len(files), 3, size, size), dtype=torch.uint8)

    def fill(i: int) -> None:
        images[i] = torch.from_numpy(read_image(files[i], size).transpose(2, 0, 1).copy())

    # PIL releases the GIL while decoding and resizing, so threads decode in parallel
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(fill, range(len(files))))
    return Split(labels, size, images=images)


def _should_cache(setting: bool | str, size: int, memory: int | None) -> bool:
    if isinstance(setting, bool):
        return setting
    return size <= CACHE_FRACTION * (memory if memory is not None else available_memory())


def available_memory() -> int:
    """Bytes of RAM available to new allocations (MemAvailable on Linux)."""
    try:
        with Path("/proc/meminfo").open() as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 4 * 2**30


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
