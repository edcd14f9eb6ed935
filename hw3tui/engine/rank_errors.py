"""What goes wrong between the processes of a run: bad input for several processes
(`DistributedError`, exit 2) and a rank that stopped because another failed (`PeerFailed`)."""

from __future__ import annotations


class DistributedError(ValueError):
    """A multi-process setup that cannot work, or a rank that could not start: bad input."""


class PeerFailed(RuntimeError):
    """Another rank failed; every rank learnt it in the same agreement."""

    def __init__(self, rank: int) -> None:
        super().__init__(f"rank {rank} failed")
        self.rank = rank
