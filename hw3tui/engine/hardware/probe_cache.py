"""Where measured `auto` rates are kept: one small JSON file per question, in the user's cache
folder (platformdirs' user_cache_dir("hw3tui"), which honours XDG_CACHE_HOME).

A question is everything that changes the answer: the machine (CPU model and instruction-set flags,
or the GPU's name), torch's version, the thread count, the backbone, the image size, the batch
sizes and the settings compared. Any of them different is another file, so a new torch or another
thread count measures again. A file that cannot be read or does not match its question is a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
from pathlib import Path
from typing import Any

import torch

from hw3tui.atomic import write_text_atomic
from hw3tui.engine.hardware.cpuinfo import cpu_flags, cpu_model

FOLDER = "runtime-probe"
VERSION = 1
"""Bumped when the measurement changes enough that old answers should not be trusted."""


def cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("hw3tui")) / FOLDER


def machine(device: torch.device) -> dict[str, str]:
    """What identifies the hardware that does the arithmetic."""
    if device.type == "cuda":
        return {"gpu": torch.cuda.get_device_name(device)}
    digest = hashlib.sha256(" ".join(sorted(cpu_flags())).encode()).hexdigest()[:16]
    return {"cpu": cpu_model() or platform.processor() or platform.machine(), "flags": digest}


def question(
    device: torch.device,
    *,
    threads: int,
    backbone: str,
    image_size: int,
    batch_sizes: list[int],
    candidates: list[str],
) -> dict[str, Any]:
    return {
        "version": VERSION,
        "machine": machine(device),
        "torch": torch.__version__,
        "threads": threads if device.type == "cpu" else None,
        "backbone": backbone,
        "image_size": image_size,
        "batch_sizes": batch_sizes,
        "candidates": candidates,
    }


def _path(key: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    return cache_dir() / f"{digest}.json"


def read(key: dict[str, Any]) -> Any:
    """The rates kept for `key` (JSON, checked by the caller), or None."""
    try:
        saved = json.loads(_path(key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("key") != key:
        return None
    return saved.get("rates")


def write(key: dict[str, Any], rates: dict[str, Any]) -> None:
    """Keep `rates` for `key`; a cache that cannot be written only costs a later measurement."""
    path = _path(key)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps({"key": key, "rates": rates}, indent=1) + "\n")
