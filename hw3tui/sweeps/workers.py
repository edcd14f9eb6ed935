"""Which sweep workers are alive, and how to stop one: a lock file per worker in the sweep folder.

A worker (`hw3tui sweep`, `hw3tui sweep resume`) holds `workers/<host>-<pid>.lock` locked for its
whole life; the lock ends with the process, however it ends, so a reader (`hw3tui sweeps`, the
TUI) tells a running sweep from a stopped one between two trials too, and the TUI's cancel
signals the worker's own pid, never a recycled one (the pid is only trusted while its lock is
held). No Optuna here.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

WORKERS = "workers"


@dataclass(frozen=True)
class LiveWorker:
    """A worker that holds its lock right now."""

    host: str
    pid: int

    @property
    def local(self) -> bool:
        return self.host == socket.gethostname()


@contextlib.contextmanager
def hold_worker(sweep_path: Path) -> Iterator[None]:
    """Mark this process as a live worker of the sweep in `sweep_path` while the block runs."""
    folder = sweep_path / WORKERS
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / f"{_safe(socket.gethostname())}-{os.getpid()}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.write(fd, f"{socket.gethostname()}\n{os.getpid()}\n".encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()
        os.close(fd)


def live_workers(sweep_path: Path) -> list[LiveWorker]:
    """The workers of a sweep whose process is alive (any host sharing the folder)."""
    try:
        locks = sorted((sweep_path / WORKERS).glob("*.lock"))
    except OSError:
        return []
    found = []
    for lock in locks:
        try:
            fd = os.open(lock, os.O_RDONLY)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                worker = _read(fd)
                if worker is not None:
                    found.append(worker)
        finally:
            os.close(fd)
    return found


def interrupt_workers(sweep_path: Path) -> int:
    """SIGINT every live worker on this machine (each cancels its trials cleanly, resumable);
    how many were signalled."""
    signalled = 0
    for worker in live_workers(sweep_path):
        if not worker.local:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(worker.pid, signal.SIGINT)
            signalled += 1
    return signalled


def _read(fd: int) -> LiveWorker | None:
    try:
        host, pid = os.pread(fd, 512, 0).decode("utf-8", "replace").split()[:2]
        number = int(pid)
    except ValueError:
        return None  # a worker between creating its lock and writing it
    return LiveWorker(host, number) if number > 0 else None


def _safe(host: str) -> str:
    return "".join(c if c.isalnum() or c in "-._" else "_" for c in host) or "host"
