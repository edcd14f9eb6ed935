"""What the CPU is, read from /proc/cpuinfo: its model name and instruction-set flags.

Whether bf16 arithmetic is native is read from the flags, not from torch: oneDNN's bf16 check
(`torch.ops.mkldnn._is_mkldnn_bf16_supported`) also says yes where bf16 is emulated with plain
AVX-512, where it is slower than fp32. `avx512_bf16` (AMD Zen 4 and later, Intel Cooper Lake) and
`amx_bf16` (Intel Sapphire Rapids and later) are the instructions that make it pay.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Collection
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
NATIVE_BF16 = ("avx512_bf16", "amx_bf16")
"""Flags of CPUs that compute in bf16 natively (either one is enough)."""


@functools.cache
def _read() -> tuple[str, frozenset[str]]:
    model, flags = "", frozenset[str]()
    with contextlib.suppress(OSError):
        for line in CPUINFO.read_text(errors="replace").splitlines():
            name, _, value = line.partition(":")
            name = name.strip()
            if name == "model name" and not model:
                model = value.strip()
            elif name == "flags" and not flags:
                flags = frozenset(value.split())
    return model, flags


def cpu_model() -> str:
    """The first CPU's model name ('' where /proc/cpuinfo cannot be read: not Linux)."""
    return _read()[0]


def cpu_flags() -> frozenset[str]:
    """The first CPU's flags (empty where /proc/cpuinfo cannot be read)."""
    return _read()[1]


def native_bf16(flags: Collection[str]) -> bool:
    """Whether a CPU with these flags computes bf16 natively."""
    return any(flag in flags for flag in NATIVE_BF16)
