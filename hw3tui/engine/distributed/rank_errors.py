"""What goes wrong between the processes of a run: bad input for several processes
(`DistributedError`, exit 2) and a rank that stopped because another failed (`PeerFailed`)."""

from __future__ import annotations

from hw3tui.errors import DistributedError as DistributedError  # defined with its family


class PeerFailed(RuntimeError):
    """Another rank failed; every rank learnt it in the same agreement."""

    def __init__(self, rank: int) -> None:
        super().__init__(f"rank {rank} failed")
        self.rank = rank
