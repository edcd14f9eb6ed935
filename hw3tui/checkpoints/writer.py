"""Writing a chunk set: one stream cut into NAME.000, NAME.001, ... and SHA256SUMS, hashed beside
the writes. The caller stages the folder and swaps it into place (`hw3tui.atomic.replace_dir`)."""

from __future__ import annotations

import hashlib
import math
import os
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from hw3tui.checkpoints.format import SUMS_FILE


def chunk_names(name: str, count: int) -> list[str]:
    """NAME.000, NAME.001, ...: zero-padded to one width so that `NAME.*` sorts numerically."""
    width = max(3, len(str(count - 1)))
    return [f"{name}.{index:0{width}d}" for index in range(count)]


@dataclass(frozen=True)
class Written:
    """What `write_stream` wrote."""

    joined: Path
    """The path `cat` rebuilds (not written itself)."""
    chunks: list[Path]
    total_bytes: int
    sha256: str


def write_stream(
    pieces: Iterable[bytes | bytearray | memoryview],
    folder: Path,
    name: str,
    *,
    chunk_bytes: int,
    total_bytes: int,
) -> Written:
    """Write the concatenation of `pieces` (exactly `total_bytes` long) as chunks of `chunk_bytes`
    into `folder`, and SHA256SUMS.

    Each piece is written straight from its buffer (no copy). Hashing costs more CPU than
    writing, so it runs beside it: one thread hashes the chunks, one the whole stream (hashlib
    releases the GIL), and a third fsyncs each finished chunk while the next one is written.
    """
    if chunk_bytes < 1:
        raise ValueError("chunk_bytes must be at least 1")
    names = chunk_names(name, max(1, math.ceil(total_bytes / chunk_bytes)))
    whole = ThreadedSha256()
    chunk_hashes = _ChunkHashes()
    syncer: _Background[int] = _Background(_fsync_and_close, "fsync")
    fd: int | None = None
    filled = written = opened = 0
    try:
        for piece in pieces:
            view = memoryview(piece).cast("B")
            whole.update(view)
            while view.nbytes:
                if fd is None:
                    if opened == len(names):
                        raise ValueError(f"the stream is longer than the {total_bytes} bytes given")
                    path = folder / names[opened]
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
                    opened, filled = opened + 1, 0
                part = view[: chunk_bytes - filled]
                chunk_hashes.put(part)
                _write_all(fd, part)
                filled += part.nbytes
                written += part.nbytes
                view = view[part.nbytes :]
                if filled == chunk_bytes:
                    chunk_hashes.put(None)
                    syncer.put(fd)
                    fd = None
        if fd is not None:
            chunk_hashes.put(None)
            syncer.put(fd)
            fd = None
        if written != total_bytes:
            raise ValueError(f"the stream has {written} bytes, not the {total_bytes} given")
        digest = whole.hexdigest()
        digests = chunk_hashes.digests()
        syncer.finish()
    finally:
        if fd is not None:
            os.close(fd)
        for worker in (whole, chunk_hashes, syncer):
            worker.stop()
    lines = [f"{d}  {n}\n" for d, n in zip(digests, names, strict=True)]
    lines.append(f"{digest}  {name}\n")
    (folder / SUMS_FILE).write_text("".join(lines), encoding="utf-8")
    return Written(folder / name, [folder / n for n in names], total_bytes, digest)


def _write_all(fd: int, data: memoryview) -> None:
    while data.nbytes:
        done = os.write(fd, data)
        data = data[done:]


def _fsync_and_close(fd: int) -> None:
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


T = TypeVar("T")


_STOP = object()


class _Background(Generic[T]):
    """A thread that applies `handle` to each item put, in order; the first error is raised by
    `finish` (every item is still handled, so no descriptor is left open)."""

    def __init__(self, handle: Callable[[T], None], name: str) -> None:
        self._handle = handle
        self._error: BaseException | None = None
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            try:
                self._handle(item)  # type: ignore[arg-type]
            except BaseException as exc:
                self._error = self._error or exc

    def put(self, item: T) -> None:
        self._queue.put(item)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def finish(self) -> None:
        self.stop()
        if self._error is not None:
            raise self._error


class ThreadedSha256(_Background[memoryview]):
    """SHA-256 of a stream, computed in a second thread."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        super().__init__(self._hash.update, "sha256")

    def update(self, data: memoryview) -> None:
        self.put(data)

    def hexdigest(self) -> str:
        self.finish()
        return self._hash.hexdigest()


class _ChunkHashes(_Background["memoryview | None"]):
    """SHA-256 of each chunk, in a thread: put a chunk's bytes, then None to end the chunk."""

    def __init__(self) -> None:
        self._done: list[str] = []
        self._current = hashlib.sha256()
        super().__init__(self._take, "sha256-chunks")

    def _take(self, data: memoryview | None) -> None:
        if data is None:
            self._done.append(self._current.hexdigest())
            self._current = hashlib.sha256()
        else:
            self._current.update(data)

    def digests(self) -> list[str]:
        self.finish()
        return self._done
