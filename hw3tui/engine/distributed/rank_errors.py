"""What goes wrong between the processes of a run, and how the ranks tell each other.

Bad input for several processes is `DistributedError` (exit 2); a rank that stopped because
another failed raises `PeerFailed`. A rank that failed leaves its reason in torchrun's key-value
store (hosted by torchrun's agent, so it outlives any worker: `leave`); rank 0 reads the reasons
(`read`, `reports`) to end the run naming the failed rank and why (`failure_reason`).
`lost_contact` tells an error that says a peer went away from a fault of this rank's own.

torch is imported inside the functions that use it: the launcher (`torchrun`) imports this
module before any torch is needed.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from hw3tui.errors import DistributedError as DistributedError  # defined with its family

TIMEOUT_ENV = "HW3TUI_DDP_TIMEOUT"
DEFAULT_TIMEOUT = 600.0
"""Seconds a rank waits in a collective (rank 0 saving a large checkpoint, a slow peer's setup)."""
REPORT_WAIT = 2.0
"""Seconds rank 0 waits for a lost peer's report of why it stopped."""
PEER_REPORT_WAIT = 30.0
"""Seconds rank 0 waits for the report of a peer that agreed it failed (it writes it at once)."""
_STORE_PREFIX = "hw3tui/"


class ReportedByRankZero(RuntimeError):
    """This rank (not rank 0) could not start, and every rank learnt it in the setup vote: rank 0
    says why, and its exit code is the run's. This rank ends quietly (exit 0): ending with an
    error first would make torchrun stop rank 0 before it had said anything (seen under load:
    `run --nproc 2` exited 1 with rank 1's traceback instead of 2 with rank 0's one line)."""


class PeerFailed(RuntimeError):
    """Another rank failed; every rank learnt it in the same agreement."""

    def __init__(self, rank: int) -> None:
        super().__init__(f"rank {rank} failed")
        self.rank = rank


def failure_reason(exc: BaseException, reason: str, *, rank: int, size: int, timeout: float) -> str:
    """Why a run of `size` ranks failed, said on `rank`, naming the rank. A rank other than 0
    leaves its own reason for rank 0 (unless it only lost its peers); rank 0 names the first
    rank that left one."""
    lost = lost_contact(exc)
    if rank != 0:
        if not lost:
            leave(f"failed/{rank}", reason)
        return f"rank {rank}: {reason}"
    peer = exc.rank if isinstance(exc, PeerFailed) else None
    wait = PEER_REPORT_WAIT if peer is not None else REPORT_WAIT if lost else 0.0
    found = reports(size, wait=wait)
    if found:
        first = min(found)
        return f"rank {first}: {found[first]}"
    if peer is not None:
        return f"rank {peer} failed (its reason did not reach rank 0)"
    if lost:
        return f"{_lost_reason(exc, timeout)} (rank 0 saw no reason from the others)"
    return f"rank 0: {reason}"


def reports(size: int, *, wait: float) -> dict[int, str]:
    """The reasons ranks 1.. left (`failed/RANK`), waiting up to `wait` seconds for a first."""
    deadline = time.monotonic() + wait
    while True:
        found = {}
        for rank in range(1, size):
            text = read(f"failed/{rank}")
            if text:
                found[rank] = text
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(0.05)


def leave(key: str, value: str) -> None:
    """Leave `value` under `key` for the other ranks (nothing without torchrun's store)."""
    store = _store()
    if store is not None:
        with contextlib.suppress(Exception):
            store.set(_STORE_PREFIX + key, value)


def read(key: str) -> str | None:
    """What a rank left under `key`, without waiting (None: nothing, or no store)."""
    store = _store()
    if store is None:
        return None
    try:
        if not store.check([_STORE_PREFIX + key]):
            return None
        return bytes(store.get(_STORE_PREFIX + key)).decode("utf-8", "replace")
    except Exception:
        return None


def _store() -> Any:
    """torchrun's key-value store (hosted by its agent, so it outlives any worker), or None."""
    try:
        from torch.distributed import distributed_c10d

        # private, but the only handle on the store the process group was built on
        return distributed_c10d._get_default_store()
    except Exception:
        return None


def lost_contact(exc: BaseException) -> bool:
    """Whether `exc` says another rank went away or stopped answering (not a fault of ours)."""
    import torch.distributed as dist

    if isinstance(exc, dist.DistError | PeerFailed):
        return True
    text = str(exc)
    return any(
        marker in text
        for marker in (
            "Connection closed by peer",
            "Connection reset by peer",
            "Broken pipe",
            "Timed out",
            "timed out",
            "NCCL communicator was aborted",
        )
    )


def _lost_reason(exc: BaseException, timeout: float) -> str:
    text = str(exc)
    if "Timed out" in text or "timed out" in text:
        return (
            f"another process did not answer within {timeout:g} s ({TIMEOUT_ENV}); it may be stuck"
        )
    return "lost contact with another process (it stopped or crashed)"
