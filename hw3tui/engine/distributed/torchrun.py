"""`hw3tui run --gpus N` (or `runtime.gpus: N`, or `--nproc N`): hw3tui starts torchrun itself.

    python -m torch.distributed.run --standalone --nproc-per-node N -m hw3tui run PRESET \\
        --run-dir DIR [--set ...]

This process runs exactly that command's launcher in-process (`torch.distributed.run.run`, what
`python -m torch.distributed.run` calls), so it sees each rank's exit code instead of printing
torchrun's traceback. The ranks are ordinary `hw3tui run` processes that find themselves under
torchrun and train with DDP (`hw3tui.engine.distributed.world`); rank 0 records the run in DIR,
which this process chose. Here only the ending is read: the run's final state becomes the exit code;
a run whose rank 0 was killed before it could record its end is recorded as failed, naming the
ranks that stopped; a folder made here for a run that never started training is removed again.

Ctrl-C (or the TUI's cancel, a SIGINT to this process) reaches torchrun, which passes it on to
every rank once: they stop after the same step, save, and end the run as cancelled.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch

from hw3tui import exits
from hw3tui.engine.distributed.process_group import check_device_for_ranks
from hw3tui.engine.distributed.rank_errors import DistributedError
from hw3tui.engine.hardware.runtime import cpu_count
from hw3tui.errors import one_line
from hw3tui.preset.models import Runtime as RuntimeSpec
from hw3tui.runs import RunDir
from hw3tui.runs.ending import record_end
from hw3tui.runs.events import Note
from hw3tui.runs.states import RunState
from hw3tui.runs.status import Status

SHUTDOWN_SECONDS = 120
"""How long torchrun waits for cancelled ranks to save before it kills them (its default: 30)."""
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


class LaunchError(RuntimeError):
    """torchrun could not start the processes (not the run failing: that is recorded)."""


def check_machine(processes: int, spec: RuntimeSpec, *, gpus: bool) -> None:
    """That this machine can run `processes` ranks: with `gpus` (from --gpus or runtime.gpus)
    one CUDA GPU each; otherwise (--nproc) one GPU each when the run is on CUDA, else CPU
    processes. `DistributedError` (bad input) names what is missing."""
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    check_device_for_ranks(spec.device)
    if gpus:
        if count == 0:
            raise DistributedError(
                f"runtime.gpus: {processes} GPUs asked for, but this machine has no CUDA GPU "
                f"(`hw3tui run --nproc {processes}` trains with {processes} CPU processes)"
            )
        if count < processes:
            raise DistributedError(
                f"runtime.gpus: {processes} GPUs asked for, but this machine has {count}"
            )
        return
    on_cuda = count > 0 and spec.device in ("auto", "cuda")
    if spec.device == "cuda" and count == 0:
        raise DistributedError("runtime.device: cuda asked for, but this machine has no CUDA GPU")
    if on_cuda and count < processes:
        raise DistributedError(
            f"--nproc {processes}: a process per GPU, but this machine has {count} "
            "(runtime.device: cpu trains with CPU processes)"
        )


def torchrun_args(processes: int, hw3tui_args: Sequence[str]) -> list[str]:
    """The arguments of `python -m torch.distributed.run` that start the ranks on this machine
    (`--standalone`: a private rendezvous on a free port, so runs side by side never meet)."""
    return [
        "--standalone",
        "--nproc-per-node",
        str(processes),
        "--shutdown-timeout",
        str(SHUTDOWN_SECONDS),
        "-m",
        "hw3tui",
        *hw3tui_args,
    ]


def launch(
    hw3tui_args: Sequence[str], processes: int, *, run: RunDir, made: bool, note: Note
) -> int:
    """Run `hw3tui <hw3tui_args>` (which names `run` as its run directory) in `processes` ranks
    under torchrun; return hw3tui's exit code for how the run ended. `made`: this process made
    the run's folder (removed again when training never started)."""
    args = torchrun_args(processes, hw3tui_args)
    note(f"{processes} processes: python -m torch.distributed.run {shlex.join(args)}")
    before = len(run.events())  # a resumed run's earlier events
    try:
        # torch's own threads are set per rank by the engine; this keeps other libraries in
        # line. Only for the ranks: left set, it would follow every later child of this process
        with _environment("OMP_NUM_THREADS", str(max(1, cpu_count() // processes))):
            codes = _torchrun(args)
    except Exception as exc:  # the rendezvous or the launcher itself, before any rank ran
        if made:
            shutil.rmtree(run.path, ignore_errors=True)
        raise LaunchError(f"torchrun could not start the processes: {one_line(exc)}") from exc
    return _ending(run, codes, made=made, before=before)


@contextlib.contextmanager
def _environment(name: str, default: str) -> Iterator[None]:
    """`name` set to `default` (unless the user set it) for the duration, then as it was."""
    if name in os.environ:
        yield
        return
    os.environ[name] = default
    try:
        yield
    finally:
        os.environ.pop(name, None)


def _torchrun(args: list[str]) -> dict[int, int] | None:
    """torchrun in this process: the exit code of each rank that failed ({} when all ended
    well), or None when a signal to this process stopped them."""
    from torch.distributed.elastic.multiprocessing import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    _quiet_torchrun_logs()
    handlers = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    try:
        run(parse_args(args))  # type: ignore[no-untyped-call]
        return {}
    except ChildFailedError as exc:
        return {rank: failure.exitcode for rank, failure in exc.failures.items()}
    except SignalException:
        return None
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _quiet_torchrun_logs() -> None:
    """torchrun logs each rank's exit and its shutdown; hw3tui says how the run ended itself."""
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and name.startswith(
            ("torch.distributed.elastic", "torch.distributed.launcher", "torch.distributed.run")
        ):
            logger.setLevel(logging.CRITICAL)


def _ending(run: RunDir, codes: dict[int, int] | None, *, made: bool, before: int) -> int:
    status = run.read_status() or Status(state=RunState.UNKNOWN)
    started = any(record["type"] == "run_start" for record in run.events()[before:])
    if started and status.state == "running" and not run.is_live():
        # rank 0 was killed before it could record the end (it waited on a dead rank, say)
        interrupted = codes is None
        record_end(run, "cancelled" if interrupted else "failed", _stopped_ranks(codes))
        status = run.read_status() or Status(state=RunState.UNKNOWN)
    if started:
        return exits.of_state(status.state)
    # training never started: rank 0 said why (2: bad input, 130: interrupted)
    rank0 = exits.CANCELLED if codes is None else codes.get(0, exits.OK)
    said = (exits.FAILED, exits.BAD_INPUT, exits.CANCELLED)
    code = rank0 if rank0 in said else exits.FAILED
    if made:
        shutil.rmtree(run.path, ignore_errors=True)
    return code


def _stopped_ranks(codes: dict[int, int] | None) -> str:
    if codes is None:
        return "stopped by a signal before rank 0 could save"
    if not codes:
        return "the processes ended without recording how"
    parts = [f"rank {rank} {_exit(code)}" for rank, code in sorted(codes.items())]
    return "; ".join(parts) + " (rank 0 could not record why)"


def _exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def run_folder(runs_dir: Path, run_dir: Path | None, name: str) -> tuple[RunDir, bool]:
    """The folder the ranks will share: `run_dir` as given, or a new one under `runs_dir`
    (made here, so its name is taken before any rank starts). Returns it and whether it was made
    here."""
    if run_dir is not None:
        return RunDir(run_dir), False
    return RunDir.create(runs_dir, name), True
