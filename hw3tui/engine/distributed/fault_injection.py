"""A fault injected on purpose into one rank (`HW3TUI_TEST_FAULT=RANK:EPOCH:STEP[:hang]`,
`RANK:EPOCH:end`, `RANK:job`): how the tests show that one failing rank ends every rank,
with its reason. Nothing happens unless the variable is set."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Protocol

from hw3tui.engine.distributed.rank_errors import DistributedError

FAULT_ENV = "HW3TUI_TEST_FAULT"


class StopRequest(Protocol):
    """The loop's `StopFlag`, as far as the agreement to stop needs it."""

    requested: bool
    reason: str

    def request(self, reason: str) -> None: ...


@dataclass(frozen=True)
class Fault:
    """The test-only fault hook: rank `rank` raises (or hangs) at `where`: "EPOCH:STEP" (after
    that training step), "EPOCH:end" (at that epoch's end) or "job" (building the job)."""

    rank: int
    where: str
    hang: bool = False

    @classmethod
    def from_env(cls) -> Fault | None:
        text = os.environ.get(FAULT_ENV, "").strip()
        if not text:
            return None
        parts = text.split(":")
        usage = f"{FAULT_ENV}={text}: expected RANK:EPOCH:STEP[:hang], RANK:EPOCH:end or RANK:job"
        try:
            rank = int(parts[0])
            if parts[1:] == ["job"]:
                return cls(rank, "job")
            epoch = int(parts[1])
            step = "end" if parts[2] == "end" else str(int(parts[2]))
        except (ValueError, IndexError):
            raise DistributedError(usage) from None
        return cls(rank, f"{epoch}:{step}", hang=parts[3:4] == ["hang"])

    def fire(self, rank: int, where: str, stop: StopRequest) -> None:
        if (rank, where) != (self.rank, self.where):
            return
        # a stuck rank: the others must time out, not wait forever (it wakes at a signal, so
        # that torchrun's SIGTERM ends it and a test need not wait for the SIGKILL)
        while self.hang and not stop.requested:
            time.sleep(0.05)
        raise RuntimeError(f"test fault {_fault_place(where)} ({FAULT_ENV})")


def _fault_place(where: str) -> str:
    if where == "job":
        return "while building the job"
    epoch, step = where.split(":")
    return f"at the end of epoch {epoch}" if step == "end" else f"after epoch {epoch}, step {step}"
