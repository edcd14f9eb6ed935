"""How several ranks split the work, without starting any: shards, weights, seeds, checks.

The end-to-end runs with two processes are in tests/cli/test_torchrun.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from engine_helpers import TinyNet, job_from

from hw3tui.engine.data.batches import EpochBatchSampler
from hw3tui.engine.distributed.fault_injection import Fault
from hw3tui.engine.distributed.rank_errors import DistributedError, PeerFailed
from hw3tui.engine.distributed.torchrun import check_machine, torchrun_args
from hw3tui.engine.distributed.world import SINGLE, World, under_torchrun
from hw3tui.engine.training.loop import Job, StopFlag, fit
from hw3tui.preset import PresetError, load_preset
from hw3tui.preset.models import Runtime
from hw3tui.runs.events import Event

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny.yaml"


def epoch_batches(count: int, batch_size: int, rank: int, ranks: int) -> list[list[int]]:
    sampler = EpochBatchSampler(count, batch_size, seed=7, shuffle=True, shard=(rank, ranks))
    sampler.set_epoch(3)
    return list(sampler)


@pytest.mark.parametrize("ranks", [2, 3, 4])
def test_the_ranks_batches_together_are_the_single_process_batches(ranks: int) -> None:
    single = epoch_batches(104, 16, 0, 1)  # a last batch of 8
    shards = [epoch_batches(104, 16, rank, ranks) for rank in range(ranks)]
    assert all(len(shard) == len(single) for shard in shards)  # same steps on every rank
    for step, batch in enumerate(single):
        parts = [shard[step] for shard in shards]
        assert all(parts), "every rank has images in every training batch"
        assert sorted(i for part in parts for i in part) == sorted(batch)
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_a_last_batch_that_would_leave_a_rank_one_image_is_dropped() -> None:
    # 50 images in batches of 16: the last batch holds 2 images
    assert [len(b) for b in epoch_batches(50, 16, 0, 1)] == [16, 16, 16, 2]
    assert len(epoch_batches(50, 16, 0, 2)) == 3  # 1 image each: batch norm cannot train on it
    assert len(epoch_batches(51, 16, 0, 1)) == 4  # 3 images: kept for one process


def test_every_validation_image_is_evaluated_once_without_padding() -> None:
    seen: list[int] = []
    for rank in range(3):
        sampler = EpochBatchSampler(25, 8, seed=0, shuffle=False, shard=(rank, 3))
        seen += [i for batch in sampler for i in batch]
    assert sorted(seen) == list(range(25))


def test_share_weights_make_the_ranks_gradient_the_whole_batch_mean() -> None:
    """DDP averages the ranks' gradients; weighted by `share`, that average is the gradient of
    the mean loss over the whole batch, however unevenly the batch splits."""
    torch.manual_seed(0)
    inputs, targets = torch.randn(15, 4), torch.randn(15)
    weight = torch.randn(4, requires_grad=True)

    def gradient(loss: torch.Tensor) -> torch.Tensor:
        (grad,) = torch.autograd.grad(loss, weight)
        return grad

    whole = gradient(((inputs @ weight - targets) ** 2).mean())
    ranks = 2  # batches of 15 split 8 / 7
    average = torch.zeros(4)
    for rank in range(ranks):
        sampler = EpochBatchSampler(15, 15, seed=0, shuffle=False, shard=(rank, ranks))
        (part,) = list(sampler)
        mean = ((inputs[part] @ weight - targets[part]) ** 2).mean()
        average += gradient(mean * sampler.share(0)) / ranks
    assert torch.allclose(average, whole, atol=1e-6)
    assert EpochBatchSampler(15, 15, seed=0, shuffle=False).share(0) == 1.0


def test_each_rank_draws_from_its_own_seed_and_rank_0_from_the_runs() -> None:
    seeds = [World(rank=rank, size=4).rank_seed(123) for rank in range(4)]
    assert seeds[0] == 123 == SINGLE.rank_seed(123)
    assert len(set(seeds)) == 4


def test_one_process_needs_no_collectives() -> None:
    loss, correct = torch.tensor(3.0), torch.tensor(2)
    assert SINGLE.summed(loss, correct, 4) == (loss, correct, 4)
    stop = StopFlag()
    assert SINGLE.after_step(stop, epoch=0, step=0) is False
    stop.request("SIGINT")
    assert SINGLE.at_epoch_end(stop) is True
    with SINGLE.between_collectives():  # no collective: nothing to agree with
        pass
    with pytest.raises(RuntimeError, match="boom"), SINGLE.between_collectives():
        raise RuntimeError("boom")
    assert SINGLE.failure(RuntimeError("boom"), "RuntimeError: boom") == "RuntimeError: boom"


def test_a_batch_size_below_the_process_count_is_bad_input() -> None:
    preset = load_preset(TINY, ["schedule.batch_size={0: 16, 1: 2}"]).preset
    World(size=2).check_batch_sizes(preset)
    with pytest.raises(DistributedError, match="2 at epoch 1 is below the 4 processes"):
        World(size=4).check_batch_sizes(preset)


def test_the_test_fault_hook_reads_rank_epoch_and_step(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HW3TUI_TEST_FAULT", "1:0:2")
    fault = Fault.from_env()
    assert fault == Fault(rank=1, where="0:2")
    fault.fire(0, "0:2", StopFlag())  # another rank: nothing happens
    with pytest.raises(RuntimeError, match="test fault after epoch 0, step 2"):
        fault.fire(1, "0:2", StopFlag())
    monkeypatch.setenv("HW3TUI_TEST_FAULT", "1:0:2:hang")
    assert Fault.from_env() == Fault(1, "0:2", hang=True)
    monkeypatch.setenv("HW3TUI_TEST_FAULT", "0:3:end")
    assert Fault.from_env() == Fault(0, "3:end")
    with pytest.raises(RuntimeError, match="test fault at the end of epoch 3"):
        Fault(0, "3:end").fire(0, "3:end", StopFlag())
    monkeypatch.setenv("HW3TUI_TEST_FAULT", "1:job")
    with pytest.raises(RuntimeError, match="test fault while building the job"):
        Fault.from_env().fire(1, "job", StopFlag())  # type: ignore[union-attr]
    for bad in ("rank one", "1", "1:0", "1:0:later"):
        monkeypatch.setenv("HW3TUI_TEST_FAULT", bad)
        with pytest.raises(DistributedError, match="RANK:EPOCH:STEP"):
            Fault.from_env()


class TwoRanks(World):
    """Rank `rank` of two, in this one process: each agreement's all-reduce is answered by a
    peer whose votes the test sets; every collective is recorded in order."""

    def __init__(self, rank: int, peer_fails: bool = False) -> None:
        super().__init__(rank=rank, size=2)
        self.peer_fails = peer_fails
        self.calls: list[str] = []

    def _cpu_all_reduce(self, tensor: torch.Tensor, op: Any = None) -> None:
        peer = torch.zeros_like(tensor)
        peer[1 + (1 - self.rank)] = int(self.peer_fails)
        tensor.copy_(torch.maximum(tensor, peer))
        failed = [r for r, bad in enumerate(tensor[1:].tolist()) if bad]
        self.calls.append(f"agree{failed}")

    def summed(
        self, loss_sum: torch.Tensor, correct: torch.Tensor, count: int
    ) -> tuple[torch.Tensor, torch.Tensor, int]:
        self.calls.append("summed")
        return loss_sum, correct, count

    def sync_buffers(self, module: torch.nn.Module) -> None:
        self.calls.append("sync_buffers")


class Quiet:
    def emit(self, record: Event) -> None:
        pass

    def save_best(self, job: Job, epoch: int, value: float) -> str:
        return ""

    def save_state(self, job: Job) -> None:
        pass


@pytest.mark.parametrize("where", ["1:2", "0:end"])
def test_a_failing_rank_agrees_on_its_failure_before_any_further_collective(where: str) -> None:
    """The failure flag goes into the next agreement (its all-reduce), and only then does the
    failing rank raise: the other ranks learn it there rather than waiting in a GPU
    collective (summed, sync_buffers, DDP's) for a rank that will never come."""
    world = TwoRanks(rank=1)
    world.fault = Fault(rank=1, where=where)
    job = job_from(["schedule.batch_size=8"], module=TinyNet())
    job.world = world
    with pytest.raises(RuntimeError, match="test fault"):
        fit(job, Quiet(), StopFlag())
    assert world.calls[-1] == "agree[1]"  # its last collective carried its failure
    assert world.calls.count("agree[1]") == 1


def test_the_other_ranks_stop_at_the_same_agreement_naming_the_failed_rank() -> None:
    world = TwoRanks(rank=0, peer_fails=True)
    job = job_from(["schedule.batch_size=8"], module=TinyNet())
    job.world = world
    with pytest.raises(PeerFailed, match="rank 1 failed"):
        fit(job, Quiet(), StopFlag())
    assert world.calls == ["agree[1]"]  # after the first step, before any sum


def test_torchrun_is_recognised_by_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TORCHELASTIC_RUN_ID", "RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert not under_torchrun()
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert under_torchrun()


def test_gpus_needs_a_device_that_can_be_one_per_process(tmp_path: Path) -> None:
    assert Runtime().gpus == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("runtime:\n  device: cpu\n  gpus: 2\n")
    with pytest.raises(PresetError, match=r"bad.yaml:3:3: runtime.gpus: 2 GPUs need device auto"):
        load_preset(bad)
    with pytest.raises(PresetError, match=r"runtime\.gpus"):
        load_preset(TINY, ["runtime.gpus=0"])
    assert load_preset(TINY, ["runtime.device=cuda", "runtime.gpus=4"]).preset.runtime.gpus == 4


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_machine_without_gpus_runs_cpu_processes_only_when_asked() -> None:
    with pytest.raises(DistributedError, match=r"no CUDA GPU.*--nproc 2"):
        check_machine(2, Runtime(gpus=2), gpus=True)
    check_machine(3, Runtime(device="cpu"), gpus=False)  # --nproc 3: three CPU processes
    check_machine(2, Runtime(), gpus=False)  # auto without a GPU: the CPU
    with pytest.raises(DistributedError, match="no CUDA GPU"):
        check_machine(2, Runtime(device="cuda"), gpus=False)
    with pytest.raises(DistributedError, match="names one GPU"):
        check_machine(2, Runtime(device="cuda:1"), gpus=False)


def test_the_torchrun_command_is_torchruns_own() -> None:
    from torch.distributed.run import parse_args

    hw3tui = ["run", "tiny.yaml", "--run-dir", "runs/x"]
    args = parse_args(torchrun_args(2, hw3tui))  # type: ignore[no-untyped-call]
    assert args.standalone and args.nproc_per_node == "2" and args.module
    assert (args.training_script, args.training_script_args) == ("hw3tui", hw3tui)


def test_loader_workers_and_threads_are_shared_by_the_ranks_of_a_machine() -> None:
    """8 ranks on a 16-core machine: `workers: auto` (8 for a GPU run) and the threads are
    divided among them, not taken 8 times over (times two loaders each)."""
    from hw3tui.engine.hardware.runtime import Runtime as Resolved

    gpu = Resolved(torch.device("cuda", 0), "bf16", True, False, threads=4, workers=8)
    mine = World(rank=3, size=16, local_rank=3, local_size=8).adapt(gpu)
    assert (mine.workers, mine.threads) == (1, 1)
    assert World(size=2, local_size=2).adapt(gpu).workers == 4
    cached = Resolved(torch.device("cpu"), "fp32", True, False, threads=16, workers=0)
    assert World(size=4, local_size=4).adapt(cached).workers == 0  # none stays none
    assert World(size=4, local_size=1).adapt(gpu) == gpu  # one rank per machine: all of it
