"""Training with several processes under torchrun: DistributedDataParallel, one process a GPU.

    torchrun --nproc_per_node 2 -m hw3tui run preset.yaml      # or: hw3tui run --gpus 2

Every process ("rank") runs the same engine on the same preset; `World` is all that differs, and
for a single process (`SINGLE`) every method below does nothing, so the loop has one code path.

- **Batches**: the epoch's order is the engine's own shuffle, a pure function of (seed, epoch),
  the same on every rank; each global batch of `schedule.batch_size` images is dealt round-robin
  (rank r takes positions r, r+N, ...). Equivalent to DistributedSampler with `set_epoch`, without
  its padding, and the union of step k over the ranks is exactly the single-process batch k:
  same steps per epoch, same lr meaning. A rank's loss is weighted by its share of the batch, so
  DDP's gradient average is the mean over the whole batch even when it splits unevenly.
- **Randomness**: augmentation and dropout draw from per-rank seeds (`rank_seed`).
- **Validation**: each rank evaluates its share of the val set (unpadded: no image twice), with
  rank 0's batch-norm statistics; loss and correct sums and the image count are all-reduced, so
  val acc is exact and equal to a single-process `hw3tui eval` of the checkpoint.
- **Outputs**: rank 0 alone writes events, status and checkpoints (from the plain module: no
  `module.` prefix); the others (`recorder.Following`) wait for it in the vote that ends each epoch.
- **Stopping**: a signal reaches ranks at different steps, so after every step the ranks agree
  (one tiny all-reduce on the CPU) whether to stop; all stop after the same step.
- **Failures**: the ranks agree on failure before any collective: the work between two
  collectives (a training step, an evaluation's forward passes, rank 0's saving at an epoch's
  end, building the job) ends in a vote (`World.after_step`, `between_collectives`, `at_setup`:
  a tiny CPU all-reduce like the stop agreement), and a rank that failed in it enters that vote
  with its failure flag set instead of raising at once. So no rank is left waiting in a GPU
  collective for a peer that will never come (NCCL does not notice a dead peer; only its timeout
  would end the wait, where no signal handler runs). After the vote the failed rank raises its
  own error and leaves its reason in torchrun's store; the others raise `PeerFailed`, and rank 0
  ends the run as failed naming that rank and its reason (how the ranks tell each other:
  `rank_errors`). Every collective has a timeout
  (`HW3TUI_DDP_TIMEOUT`, seconds, default 600): a rank that hangs is ended by it, not waited for
  forever.

Backends: gloo on the CPU; on CUDA, nccl for tensors on the GPU and gloo for the CPU agreements.
`HW3TUI_TEST_FAULT=RANK:EPOCH:STEP[:hang]` exists for tests only: that rank raises (or hangs
until a signal, then raises) after that training step; `RANK:EPOCH:end` raises at that epoch's
end (after its evaluation, where rank 0 saves), `RANK:job` while building the job (the model on
its device, before DDP).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from hw3tui.engine.distributed import rank_errors
from hw3tui.engine.distributed.fault_injection import Fault, StopRequest
from hw3tui.engine.distributed.rank_errors import (
    DEFAULT_TIMEOUT,
    TIMEOUT_ENV,
    DistributedError,
    PeerFailed,
    lost_contact,
)
from hw3tui.engine.hardware.memory import available_memory
from hw3tui.errors import one_line
from hw3tui.preset.models import Preset
from hw3tui.preset.schedule import planned_batch_sizes

if TYPE_CHECKING:
    from hw3tui.engine.hardware.runtime import Runtime

__all__ = [
    "DEFAULT_TIMEOUT",
    "SINGLE",
    "TIMEOUT_ENV",
    "World",
    "env_int",
    "env_rank",
    "lost_contact",
    "under_torchrun",
]

RANK_STREAM = 1000
"""Part of the per-rank seed, apart from every `seeds.Stream`."""


def under_torchrun() -> bool:
    """Whether this process is a worker started by torchrun (or another launcher that sets the
    torch.distributed environment)."""
    return "TORCHELASTIC_RUN_ID" in os.environ or (
        "RANK" in os.environ and "WORLD_SIZE" in os.environ
    )


def env_rank() -> int:
    """This process's rank under torchrun (0 otherwise)."""
    return env_int("RANK", 0) if under_torchrun() else 0


def env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(eq=False)
class World:
    """This process's place among the ranks of a run, and the collectives the engine needs (one
    object per process: compared by identity).

    The ranks vote (one tiny CPU all-reduce: does any rank stop, did any fail) at four moments,
    each a method named for when it happens: `at_setup` (around each rank's setup, before
    training), `after_step` (after every training step), `between_collectives` (around other
    work that may fail on one rank alone: evaluation's forward passes, rank 0's saving) and
    `at_epoch_end` (after an epoch's end was saved: a late signal stops every rank there)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1
    """Ranks on this machine (they share its cores and memory)."""
    timeout: float = DEFAULT_TIMEOUT
    fault: Fault | None = None
    broken: bool = False
    """Set once a rank failed: the process group may be unusable, so it is not torn down."""

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes the run directory."""
        return self.rank == 0

    @property
    def shard(self) -> tuple[int, int]:
        """(rank, size): which of each batch's images are this rank's."""
        return self.rank, self.size

    def rank_seed(self, seed: int) -> int:
        """The seed of this rank's own random draws (augmentation, dropout): the run's seed on
        rank 0 (so a single process and rank 0 draw alike), a derived one on the others."""
        if self.rank == 0:
            return seed
        return int(np.random.SeedSequence([seed, RANK_STREAM, self.rank]).generate_state(1)[0])

    # --- setup -------------------------------------------------------------------------------

    def memory_share(self) -> int | None:
        """RAM this rank may cache images in (every rank on a machine decodes its own copy)."""
        return None if self.local_size == 1 else available_memory() // self.local_size

    def adapt(self, runtime: Runtime) -> Runtime:
        """The machine's cores shared among its ranks (more threads than cores only thrash): its
        threads, and its loader workers (each rank has a train and a val loader, each worker
        prefetching pinned batches), divided by the ranks on this machine."""
        if self.local_size == 1:
            return runtime
        workers = max(1, runtime.workers // self.local_size) if runtime.workers else 0
        return replace(runtime, threads=max(1, runtime.threads // self.local_size), workers=workers)

    def check_batch_sizes(self, preset: Preset) -> None:
        """Each rank needs images of every batch: the global batch is at least one per rank."""
        if self.size == 1:
            return
        for epoch, size in enumerate(planned_batch_sizes(preset.schedule)):
            if size < self.size:
                raise DistributedError(
                    f"schedule.batch_size: {size} at epoch {epoch} is below the {self.size} "
                    "processes (it is the batch of all processes together, split among them)"
                )

    def wrap(self, module: nn.Module, device: torch.device) -> nn.Module:
        """The model that trains: DDP around `module` (which checkpoints keep) when several ranks
        train; DDP broadcasts rank 0's weights to the others here."""
        if self.size == 1:
            return module
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        # buffers are broadcast once here, then not before every forward: `sync_buffers` sends
        # rank 0's once per epoch, before evaluation and saving, the only places they are read
        return DistributedDataParallel(module, device_ids=ids, forward_sync_buffers=False)

    @contextlib.contextmanager
    def at_setup(self) -> Iterator[None]:
        """The vote at setup, around each rank's setup (before training): afterwards every rank
        knows whether every other one got through it. A rank that failed re-raises its error;
        the others raise `DistributedError` naming it (rank 0 with its message), so no rank
        waits for one that never comes."""
        if self.size == 1:
            yield
            return
        try:
            yield
        except BaseException as exc:
            rank_errors.leave(f"setup/{self.rank}", one_line(exc))
            voted = False
            with contextlib.suppress(Exception):
                self._failed_ranks(failed=True)
                voted = True
            if voted and not self.is_main and isinstance(exc, Exception):
                raise rank_errors.ReportedByRankZero(one_line(exc)) from exc
            raise
        failed = self._failed_ranks(failed=False)
        if failed:
            first = failed[0]
            message = rank_errors.read(f"setup/{first}") or "see its output"
            error = DistributedError(f"rank {first} could not start: {message}")
            if not self.is_main:
                raise rank_errors.ReportedByRankZero(str(error)) from error
            raise error

    def _failed_ranks(self, *, failed: bool) -> list[int]:
        flags = torch.zeros(self.size, dtype=torch.int32)
        flags[self.rank] = int(failed)
        try:
            self._cpu_all_reduce(flags)
        except Exception as exc:
            raise DistributedError(
                f"another process stopped before training started ({one_line(exc)})"
            ) from None
        return [rank for rank, bad in enumerate(flags.tolist()) if bad]

    # --- the loop's collectives --------------------------------------------------------------

    def after_step(
        self, stop: StopRequest, *, epoch: int, step: int, error: Exception | None = None
    ) -> bool:
        """The vote after each training step: whether every rank stops now. A signal reaches
        the ranks at different steps (or only one rank), so they agree (max over ranks) before
        anyone stops. `error`: this rank's step failed; it is raised after the vote (`PeerFailed`
        on the other ranks), so no rank goes on into the next step's collectives."""
        if error is None and self.fault is not None:
            try:
                self.fault.fire(self.rank, f"{epoch}:{step}", stop)
            except RuntimeError as exc:
                error = exc
        return self._vote(stop, error)

    def at_epoch_end(self, stop: StopRequest) -> bool:
        """The vote at the end of each epoch, once it was saved: whether any rank was asked to
        stop (then every rank's `stop` says so, with its reason), e.g. by a signal that came
        during the evaluation or the saving, after the last step's vote."""
        return self._vote(stop, None)

    @contextlib.contextmanager
    def between_collectives(self) -> Iterator[None]:
        """The vote after work between two collectives that may fail on this rank alone
        (evaluation's forward passes, rank 0 saving, reading the epoch's NaN check): at its end
        every rank learns whether any rank failed, before any of them enters
        the next collective. The failed rank raises its error, the others `PeerFailed`; with one
        process an error is simply raised."""
        error: Exception | None = None
        try:
            yield
        except Exception as exc:
            error = exc
        self._vote(None, error)

    def test_fault(self, where: str) -> None:
        """The test-only fault hook at `where` ("job", "EPOCH:end"): nothing unless
        HW3TUI_TEST_FAULT names this rank and place."""
        if self.fault is not None:
            self.fault.fire(self.rank, where, _NO_STOP)

    def _vote(self, stop: StopRequest | None, error: Exception | None) -> bool:
        """The all-reduce of the votes after a step, between collectives and at an epoch's end:
        one tiny tensor (max over ranks) on the CPU, the stop signal's code and a failure flag
        per rank. Raises `error` (this rank failed) or `PeerFailed` after it; else whether to
        stop."""
        asked = stop is not None and stop.requested
        if self.size == 1:
            if error is not None:
                raise error
            return asked
        votes = torch.zeros(1 + self.size, dtype=torch.int32)
        votes[0] = _signal_code(stop) if stop is not None and asked else 0
        votes[1 + self.rank] = int(error is not None)
        self._cpu_all_reduce(votes, op=_max())
        if error is not None:
            raise error
        failed = [rank for rank, bad in enumerate(votes[1:].tolist()) if bad]
        if failed:
            raise PeerFailed(failed[0])
        agreed = int(votes[0].item())
        if agreed and stop is not None and not stop.requested:
            stop.request(_signal_name(agreed))
        return agreed > 0

    def summed(
        self, loss_sum: torch.Tensor, correct: torch.Tensor, count: int
    ) -> tuple[torch.Tensor, torch.Tensor, int]:
        """A loss sum, a count of correct predictions and of images, summed over the ranks."""
        if self.size == 1:
            return loss_sum, correct, count
        import torch.distributed as dist

        device = loss_sum.device
        packed = torch.stack(
            [
                loss_sum.detach().to(torch.float64),
                correct.to(torch.float64),
                torch.tensor(float(count), dtype=torch.float64, device=device),
            ]
        )
        dist.all_reduce(packed)
        return packed[0], packed[1].round().to(torch.int64), int(packed[2].item())

    def sync_buffers(self, module: nn.Module) -> None:
        """Rank 0's buffers (batch-norm statistics) to every rank: each rank's last steps updated
        its own, and rank 0's are the ones its checkpoint keeps."""
        if self.size == 1:
            return
        import torch.distributed as dist

        for buffer in module.buffers():
            dist.broadcast(buffer, src=0)

    def _cpu_all_reduce(self, tensor: torch.Tensor, op: Any = None) -> None:
        import torch.distributed as dist

        dist.all_reduce(tensor, op=op if op is not None else dist.ReduceOp.SUM)

    # --- failures ----------------------------------------------------------------------------

    def failure(self, exc: BaseException, reason: str) -> str:
        """Why the run failed, naming the rank (`rank_errors.failure_reason`: a rank other than 0
        leaves its reason for rank 0, which names the first rank that left one)."""
        if self.size == 1:
            return reason
        self.broken = True
        return rank_errors.failure_reason(
            exc, reason, rank=self.rank, size=self.size, timeout=self.timeout
        )


SINGLE = World()
"""One process: every collective is a no-op."""


def _max() -> Any:
    import torch.distributed as dist

    return dist.ReduceOp.MAX


@dataclass
class _Unstoppable:
    """A stop request never made (where the test fault hook has no `StopFlag` to watch)."""

    requested: bool = False
    reason: str = ""

    def request(self, reason: str) -> None:
        pass


_NO_STOP = _Unstoppable()


def _signal_code(stop: StopRequest) -> int:
    try:
        return int(signal.Signals[stop.reason])
    except KeyError:
        return 1


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return "a stop request"
