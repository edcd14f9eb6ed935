"""How many trials run at once, and which GPU each gets, found without importing torch.

`CUDA_VISIBLE_DEVICES`, when set, names the GPUs this sweep may use; otherwise `nvidia-smi -L`
lists the machine's GPUs. Each slot is one GPU: a trial started in it sees only that GPU.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Slots:
    """Where trials run: one entry per trial at once (a GPU id, or None on a CPU)."""

    gpus: tuple[str | None, ...]
    how: str
    """How the GPUs were found, for the sweep's first line."""

    def env(self, slot: int) -> dict[str, str]:
        """The environment of a trial in `slot`: pinned to its GPU, if it has one."""
        gpu = self.gpus[slot]
        return {} if gpu is None else {"CUDA_VISIBLE_DEVICES": gpu}


def visible_gpus() -> tuple[list[str], str]:
    """The GPU ids this process may use, and how they were found."""
    named = os.environ.get("CUDA_VISIBLE_DEVICES")
    if named is not None:
        ids = [g.strip() for g in named.split(",") if g.strip()]
        # CUDA stops at the first invalid id; "-1" (or "") hides every GPU
        valid = []
        for gpu in ids:
            if gpu.startswith("-"):
                break
            valid.append(gpu)
        return valid, f"CUDA_VISIBLE_DEVICES={named}"
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return [], "no GPU (nvidia-smi not found)"
    try:
        listing = subprocess.run(
            [smi, "-L"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return [], "no GPU (nvidia-smi -L failed)"
    count = sum(line.startswith("GPU ") for line in listing.splitlines())
    return [str(i) for i in range(count)], f"nvidia-smi -L: {count} GPU{'s' if count != 1 else ''}"


def slots(parallel: Literal["auto"] | int) -> Slots:
    """`parallel: auto` is one trial per GPU (1 without a GPU); N is N trials, sharing the GPUs
    round-robin."""
    gpus, how = visible_gpus()
    if parallel == "auto":
        return Slots(tuple(gpus) if gpus else (None,), how)
    pinned = tuple(gpus[i % len(gpus)] for i in range(parallel)) if gpus else (None,) * parallel
    return Slots(pinned, how)
