"""How much memory this machine has free: the decoded-image cache and the ranks' share of it
ask the same question."""

from __future__ import annotations

import os
from pathlib import Path


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
