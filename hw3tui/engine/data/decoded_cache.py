"""Decoded images kept on disk between runs, so a sweep's second and later trials (and any run on
the same files at the same image size) start from the decoded uint8 tensor instead of decoding
every JPEG again.

    <user cache folder>/hw3tui/decoded/<key>.safetensors    one split: uint8 (N, 3, S, S)

The key hashes every file's resolved path, size and modification time (ns), their order, the
image size and `FORMAT` (bumped whenever decoding changes), so a changed, added or removed file
gives another key and the stale entry simply ages out. Entries are written atomically and read
back through the same header-checked safetensors reader as checkpoints (never unpickled); one that
does not read back is deleted and decoded again. The folder is kept under a size cap, least
recently used dropped first. The cache only saves time: when it cannot be read or written (no
room, a read-only home), the run decodes as before and says nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from hw3tui.atomic import open_atomic
from hw3tui.checkpoints.format import CheckpointError, build_header

FORMAT = "1"
"""Part of every key: bump it when `decode_image` changes what a file decodes to."""
CAP_ENV = "HW3TUI_DECODED_CACHE_GB"
"""Size cap of the folder in GB (default `DEFAULT_CAP_GB`); 0 turns the disk cache off."""
DEFAULT_CAP_GB = 8.0
SUFFIX = ".safetensors"


def folder() -> Path:
    """`decoded/` in the user's cache folder (XDG_CACHE_HOME, ~/.cache, ... by platform)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("hw3tui", appauthor=False)) / "decoded"


def cap_bytes() -> int:
    try:
        gigabytes = float(os.environ.get(CAP_ENV, DEFAULT_CAP_GB))
    except ValueError:
        gigabytes = DEFAULT_CAP_GB
    return max(0, int(gigabytes * 1e9))


def key(files: Sequence[Path], size: int) -> str | None:
    """The entry's name for these files decoded at `size` px; None when a file cannot be statted
    (decoding will name it)."""
    digest = hashlib.sha256(f"hw3tui decoded {FORMAT} {size}\n".encode())
    try:
        for path in files:
            info = path.stat()
            digest.update(f"{path.resolve()}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    except OSError:
        return None
    return digest.hexdigest()[:40]


def load(name: str, count: int, size: int) -> torch.Tensor | None:
    """The cached images (count, 3, size, size), or None on a miss or an entry that does not read
    back (deleted, to be written again)."""
    from hw3tui.engine.checkpoint import load_weights

    if cap_bytes() == 0:
        return None
    path = folder() / (name + SUFFIX)
    if not path.is_file():
        return None
    try:
        images = load_weights(path).get("images")
    except (CheckpointError, OSError):
        images = None
    if (
        images is None
        or images.dtype != torch.uint8
        or tuple(images.shape) != (count, 3, size, size)
    ):
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: dropped last
    return images


def store(name: str, images: torch.Tensor) -> None:
    """Keep `images` (uint8, contiguous) under `name`, then trim the folder to the cap."""
    cap = cap_bytes()
    nbytes = images.numel()
    if cap == 0 or nbytes > cap:
        return
    header, _ = build_header([("images", "U8", tuple(images.shape))], {"format": FORMAT})
    where = folder()
    try:
        where.mkdir(parents=True, exist_ok=True)
        with open_atomic(where / (name + SUFFIX)) as out:
            out.write(header)
            out.write(images.contiguous().reshape(-1).numpy().data)
    except OSError:
        return  # no room or no permission: the next run decodes again
    _trim(where, cap, keep=name + SUFFIX)


def _trim(where: Path, cap: int, *, keep: str) -> None:
    """Drop the least recently used entries until the folder fits in `cap` bytes."""
    entries = []
    for entry in where.glob("*" + SUFFIX):
        with contextlib.suppress(OSError):
            info = entry.stat()
            entries.append((info.st_mtime_ns, info.st_size, entry))
    total = sum(size for _, size, _ in entries)
    for _, size, entry in sorted(entries):
        if total <= cap:
            break
        if entry.name == keep:
            continue
        with contextlib.suppress(OSError):
            entry.unlink()
            total -= size
