"""Joining the processes of a run: under torchrun, one process group (NCCL on GPUs, gloo on
CPUs) with its timeout and store; alone, the single-process `World`. Split from `distributed`,
which holds what the ranks do together once joined."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from datetime import timedelta
from types import FrameType

import torch

from hw3tui.engine.distributed.fault_injection import Fault
from hw3tui.engine.distributed.rank_errors import DistributedError
from hw3tui.engine.distributed.world import (
    DEFAULT_TIMEOUT,
    SINGLE,
    TIMEOUT_ENV,
    World,
    env_int,
    under_torchrun,
)
from hw3tui.preset.models import Runtime as RuntimeSpec
from hw3tui.signals import handled


@contextlib.contextmanager
def joined(spec: RuntimeSpec) -> Iterator[World]:
    """This process's `World`: `SINGLE`, or under torchrun (several ranks) a joined process group
    on the right device, left again at the end."""
    size = env_int("WORLD_SIZE", 1) if under_torchrun() else 1
    if size <= 1:
        yield SINGLE
        return
    import torch.distributed as dist

    world = World(
        rank=env_int("RANK", 0),
        size=size,
        local_rank=env_int("LOCAL_RANK", 0),
        local_size=env_int("LOCAL_WORLD_SIZE", 1),
        timeout=_timeout(),
        fault=Fault.from_env(),
    )
    cuda = _uses_cuda(spec, world)
    dist.init_process_group(
        "cpu:gloo,cuda:nccl" if cuda else "gloo", timeout=timedelta(seconds=world.timeout)
    )
    # a failed run keeps ignoring torchrun's SIGTERM while it exits with its own code
    with handled(_calm, signal.SIGTERM, restore=lambda: not world.broken):
        try:
            yield world
        finally:
            if not world.broken:
                dist.destroy_process_group()


def check_device_for_ranks(device: str) -> None:
    """`DistributedError` unless `runtime.device` can be shared by several processes (checked by
    the launcher before torchrun starts, and by each rank under a torchrun started by hand)."""
    if device == "mps":
        raise DistributedError("runtime.device: mps cannot train with several processes")
    if device.startswith("cuda:"):
        raise DistributedError(
            f"runtime.device: {device} names one GPU, but each process takes its own "
            "(cuda:LOCAL_RANK): use auto or cuda"
        )


def _uses_cuda(spec: RuntimeSpec, world: World) -> bool:
    """Whether the ranks train on GPUs (one each: cuda:LOCAL_RANK); checks that they can."""
    check_device_for_ranks(spec.device)
    if spec.device == "cpu" or not torch.cuda.is_available():
        return False  # `cuda` without a GPU is reported by the engine's own device check
    count = torch.cuda.device_count()
    if world.local_rank >= count:
        raise DistributedError(
            f"{world.local_size} processes on this machine need {world.local_size} GPUs "
            f"(one each); it has {count}"
        )
    torch.cuda.set_device(world.local_rank)
    return True


def _timeout() -> float:
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise DistributedError(f"{TIMEOUT_ENV}={text}: expected a number of seconds above 0")
    return seconds


def _calm(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM while the ranks are joined. When one rank fails, torchrun sends SIGTERM to the
    others at once; by default that kills rank 0 before it can record why the run failed.
    Outside training (where it stops the loop) it is therefore ignored: the run is ending
    anyway, and torchrun kills for good after 30 s."""
