"""Training and validation images: found, checked, decoded once, and served as uint8 batches.

Every source (`imagefolder`, `filenames`, `csv`, `shapes`) becomes the same thing: a list of
labelled samples per split, checked before any training starts (a missing folder, an unreadable
image, an empty class or different classes in train and val are a `DataError`, one line). When the
images fit comfortably in memory they are decoded once into a uint8 tensor (N, 3, S, S) at the
model's image size (and kept on disk for the next run on the same files: `decoded_cache`);
otherwise they are decoded from their files every epoch by loader workers.
Either way the training loop receives uint8 batches and augments them as tensors on its device.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from hw3tui.engine.data import decoded_cache
from hw3tui.engine.data.shapes import SHAPES, draw_shapes
from hw3tui.engine.data.sources import DataError, Sample, class_names, index_samples
from hw3tui.engine.hardware.memory import available_memory
from hw3tui.engine.hardware.runtime import cpu_count
from hw3tui.engine.seeds import Stream, seed_sequence
from hw3tui.preset.models import Data
from hw3tui.regular import NotRegular, open_regular_file
from hw3tui.untrusted import printable

CACHE_FRACTION = 0.25
"""`cache: auto` decodes into memory when the images take at most this share of available RAM."""

MAX_IMAGE_PIXELS = 40_000_000
"""The most pixels an image may have (width x height): a 40-megapixel camera's photo, far above
any homework's. A 17 KB PNG can say 12000x12000 and decode to 1.5 GB (a decompression bomb): the
size is read from the header and checked before a pixel is decoded."""

# PIL's own guard stays as it is (a DecompressionBombError inside `Image.open` above 179
# megapixels: reported as ours); its warning above 89 megapixels is noise on the user's stderr
# here, since every such image is refused in one line.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


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
    train_items, val_items = index_samples(data, seed=seed, base_dir=base_dir)
    classes = class_names(train_items, val_items)
    index = {name: i for i, name in enumerate(classes)}
    cache_bytes = (len(train_items) + len(val_items)) * 3 * size * size
    cache = _should_cache(data.cache, cache_bytes, memory)
    threads = max(1, workers, cpu_count())
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


# --- decoding --------------------------------------------------------------------------------


class TooManyPixels(ValueError):
    """An image whose header gives more than `MAX_IMAGE_PIXELS`."""


@contextmanager
def open_image(path: Path) -> Iterator[Image.Image]:
    """An image file opened (its header read, no pixel decoded yet): a regular file only (a FIFO
    would block the read: `open_regular_file`) of at most `MAX_IMAGE_PIXELS`."""
    with open_regular_file(path) as handle, Image.open(handle) as image:
        width, height = image.size
        if width * height > MAX_IMAGE_PIXELS:
            raise TooManyPixels(f"{width}x{height} pixels, more than {MAX_IMAGE_PIXELS:,} pixels")
        yield image


def decode_image(path: Path, size: int) -> np.ndarray:
    """An image file as uint8 (S, S, 3): shorter side resized to `size`, centre cropped."""
    with open_image(path) as image:
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
    except Image.DecompressionBombError:  # PIL's guard, far above ours: the same refusal
        raise DataError(
            printable(f"cannot read image {path}: more than {MAX_IMAGE_PIXELS:,} pixels")
        ) from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        reason: object = exc
        if isinstance(exc, UnidentifiedImageError):
            reason = "not an image PIL can read"
        elif isinstance(exc, NotRegular):
            reason = exc.reason  # "a FIFO, not a regular file"
        raise DataError(printable(f"cannot read image {path}: {reason}")) from None


def read_image(path: Path, size: int) -> np.ndarray:
    """`decode_image`, with a `DataError` naming the file when it cannot be read."""
    with _reading(path):
        return decode_image(path, size)


def images_at(split: Split, indices: Sequence[int]) -> torch.Tensor:
    """uint8 (N, 3, S, S) of a few of the split's images, from memory or decoded from files."""
    if split.images is not None:
        return split.images[list(indices)]
    if split.files is None or not indices:
        return torch.zeros((0, 3, split.size, split.size), dtype=torch.uint8)
    decoded = np.stack([read_image(split.files[i], split.size) for i in indices])
    return torch.from_numpy(decoded).permute(0, 3, 1, 2).contiguous()


def check_header(path: Path) -> None:
    """Open `path`'s image header (cheap: no pixels decoded); a `DataError` when it is not one."""
    with _reading(path), open_image(path):
        pass  # opening reads the header and checks the size: that is the check


def _split(
    samples: Sequence[Sample], index: dict[str, int], size: int, *, cache: bool, threads: int
) -> Split:
    labels = torch.tensor([index[label] for _, label in samples], dtype=torch.int64)
    files = [path for path, _ in samples]
    if not cache:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(check_header, files))
        return Split(labels, size, files=tuple(files))
    name = decoded_cache.key(files, size)
    cached = decoded_cache.load(name, len(files), size) if name is not None else None
    if cached is not None:
        return Split(labels, size, images=cached)
    images = torch.empty((len(files), 3, size, size), dtype=torch.uint8)

    def fill(i: int) -> None:
        images[i] = torch.from_numpy(read_image(files[i], size).transpose(2, 0, 1).copy())

    # PIL releases the GIL while decoding and resizing, so threads decode in parallel
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(fill, range(len(files))))
    if name is not None:
        decoded_cache.store(name, images)
    return Split(labels, size, images=images)


def _should_cache(setting: bool | str, size: int, memory: int | None) -> bool:
    if isinstance(setting, bool):
        return setting
    return size <= CACHE_FRACTION * (memory if memory is not None else available_memory())
