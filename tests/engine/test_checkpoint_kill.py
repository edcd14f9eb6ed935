"""A kill -9 at any instant of a checkpoint write leaves the previous checkpoint or the new one.

Run as a script, this module is the "zygote": it imports torch once, then forks writer children
and SIGKILLs them, (1) before each file-system call of one write in turn (every step of the
write, deterministically), and (2) at random delays while they write new bests in a loop. After
each kill it checks the best/ folder (verify + load) and prints what it found as JSON for the
test below. Forking from one warm process keeps 60+ kills inside a few seconds.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ITERATIONS = 30
STEP_FUNCTIONS = (
    "open",
    "write",
    "close",
    "fsync",
    "rename",
    "replace",
    "unlink",
    "rmdir",
    "mkdir",
)


@pytest.mark.parametrize("swap", ["exchange", "rename-aside"])
def test_sigkill_during_writes_leaves_old_or_new(
    swap: str, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    if swap == "exchange":
        from hw3tui import atomic

        if atomic._exchange is None:
            pytest.skip("no atomic exchange on this platform")
    done = subprocess.run(
        [sys.executable, __file__, swap, str(tmp_path), str(ITERATIONS)],
        capture_output=True,
        text=True,
        env=subprocess_env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.splitlines()[-1])

    steps, kills = results["steps"], results["random"]
    assert len(steps) > 20  # every open/write/fsync/rename/unlink of one write was a kill point
    assert len(kills) == ITERATIONS
    for outcome in steps + kills:
        assert outcome["problems"] == [], outcome
        assert outcome["found"] in (outcome["before"], outcome["before"] + 1), outcome
        assert outcome["content_matches_epoch"], outcome
    # the kills did land mid-write, and both outcomes happened
    assert any(o["leftovers"] for o in steps + kills)
    assert {o["found"] - o["before"] for o in steps} == {0, 1}
    assert results["clean_after_next_write"] == ["best"]

    # the survivor works with the system's tools too
    best = tmp_path / "run" / "best"
    sums = subprocess.run(
        ["sha256sum", "-c", "--ignore-missing", "--quiet", "SHA256SUMS"], cwd=best
    )
    assert sums.returncode == 0
    verify = subprocess.run(
        [sys.executable, "-m", "hw3tui", "verify", str(best.parent)],
        capture_output=True,
        text=True,
        env=subprocess_env,
    )
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith("OK ")


# --- the zygote -------------------------------------------------------------------------------


def _zygote(swap: str, root: Path, iterations: int) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)  # no OpenMP pool in the parent: forked children stay safe
    from hw3tui import atomic
    from hw3tui.checkpoints.verify import verify
    from hw3tui.engine.checkpoint import CheckpointInfo, load_checkpoint, write_best

    if swap == "rename-aside":
        atomic._exchange = None
    best = root / "run" / "best"
    shapes = [(64, 32, 3, 3), (64,), (128, 64, 3, 3), (128,), (10, 128), (10,)] * 2

    def write(epoch: int) -> None:
        state = {f"layer{i}.w": torch.full(s, float(epoch)) for i, s in enumerate(shapes)}
        state["epoch_marker"] = torch.tensor(epoch)
        info = CheckpointInfo("kill", "net", epoch, "val_acc", epoch / 100, ["a", "b"])
        write_best(state, best, info, chunk_mb=0.25)  # 3 chunks

    def check(before: int) -> dict[str, Any]:
        leftovers = sorted(p.name for p in best.parent.iterdir() if p.name != "best")
        report = verify(best.parent)
        outcome: dict[str, Any] = {"before": before, "leftovers": leftovers}
        outcome["problems"] = report.problems
        state, info = load_checkpoint(best.parent)
        outcome["found"] = info.epoch
        outcome["content_matches_epoch"] = int(state["epoch_marker"]) == info.epoch and all(
            bool((t == info.epoch).all()) for n, t in state.items() if n != "epoch_marker"
        )
        return outcome

    def run_child(body: Any) -> tuple[int, list[int]]:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            try:
                body(write_end)
            finally:
                os._exit(0)
        os.close(write_end)
        return pid, [read_end]

    def collect(pid: int, read_end: int) -> list[int]:
        os.waitpid(pid, 0)
        with os.fdopen(read_end, "rb") as pipe:
            return [int(x) for x in pipe.read().split()]

    write(0)
    epoch = 0

    # (1) a kill before each file-system call of one write, in turn
    steps: list[dict[str, Any]] = []
    for step in range(1, 10_000):

        def killed_at_step(pipe: int, step: int = step, epoch: int = epoch) -> None:
            _arm(step, atomic)
            write(epoch + 1)
            _disarm()
            os.write(pipe, b"done")

        pid, (read_end,) = run_child(killed_at_step)
        os.waitpid(pid, 0)
        with os.fdopen(read_end, "rb") as pipe:
            finished = pipe.read() == b"done"
        steps.append(check(epoch))
        epoch = steps[-1]["found"]
        if finished:
            break

    # (2) SIGKILL at random instants while a child writes one new best after another
    started = time.perf_counter()
    for _ in range(3):
        write(epoch)
    one_write = (time.perf_counter() - started) / 3
    rng = random.Random(0)
    kills: list[dict[str, Any]] = []
    for _ in range(iterations):

        def write_forever(pipe: int, first: int = epoch + 1) -> None:
            for new in range(first, first + 1_000_000):
                write(new)
                os.write(pipe, f"{new}\n".encode())

        pid, (read_end,) = run_child(write_forever)
        time.sleep(rng.uniform(0.2, 4.0) * one_write)
        os.kill(pid, signal.SIGKILL)
        completed = collect(pid, read_end)
        before = completed[-1] if completed else epoch
        kills.append(check(before))
        epoch = kills[-1]["found"]

    write(epoch + 1)
    return {
        "steps": steps,
        "random": kills,
        "clean_after_next_write": sorted(p.name for p in best.parent.iterdir()),
    }


_SAVED: dict[str, Any] = {}


def _arm(step: int, atomic: Any) -> None:
    """Make the step-th file-system call from now on SIGKILL this process instead."""
    calls = [0]

    def wrap(function: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            if calls[0] == step:
                os.kill(os.getpid(), signal.SIGKILL)
            return function(*args, **kwargs)

        return counted

    for name in STEP_FUNCTIONS:
        _SAVED[name] = getattr(os, name)
        setattr(os, name, wrap(_SAVED[name]))
    _SAVED["io.open"] = io.open
    io.open = wrap(io.open)  # type: ignore[assignment]  # Path.write_text
    if atomic._exchange is not None:
        atomic._exchange = wrap(atomic._exchange)


def _disarm() -> None:
    for name in STEP_FUNCTIONS:
        setattr(os, name, _SAVED[name])
    io.open = _SAVED["io.open"]  # type: ignore[assignment]


if __name__ == "__main__":
    print(json.dumps(_zygote(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))))
