"""Chunked checkpoints: one safetensors stream cut into NAME.000, NAME.001, ... and SHA256SUMS.

    best/resnet50_best.safetensors.000     chunk_mb MiB each (the last one shorter)
    best/resnet50_best.safetensors.001
    best/SHA256SUMS                        `sha256sum` format: every chunk, then the joined file

`cat resnet50_best.safetensors.* > resnet50_best.safetensors` rebuilds the file byte for byte
(chunk numbers are zero-padded to one width, so the shell's order is the numeric order), and then
`sha256sum -c SHA256SUMS` passes; before joining, `sha256sum -c --ignore-missing SHA256SUMS`
checks the chunks alone.

Everything here works on bytes and needs no torch: `scan` (one pass that hashes, checks and
optionally copies the bytes, naming every missing, extra, truncated or corrupt chunk), `verify`
and `read_header`. Beside it: the writer (`checkpoints.writer.write_stream`), what a user's PATH
means (`checkpoints.locate.locate`) and the joiner (`checkpoints.join.join`).
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from hw3tui.checkpoints.format import (
    SUMS_FILE,
    CheckpointError,
    Header,
    MiB,
    header_length,
    parse_header,
)
from hw3tui.checkpoints.locate import Source, locate
from hw3tui.checkpoints.version import Changed, Version
from hw3tui.checkpoints.writer import ThreadedSha256
from hw3tui.regular import open_regular_file

READ_BLOCK = 4 * MiB


# --- writing ----------------------------------------------------------------------------------


# --- finding a checkpoint ---------------------------------------------------------------------


# --- one version of a checkpoint --------------------------------------------------------------


# --- reading and checking ---------------------------------------------------------------------


@dataclass
class Report:
    """What one pass over a checkpoint's bytes found."""

    source: Source
    problems: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    """The files read, in order (the chunks, or the one file)."""
    total_bytes: int = 0
    sha256: str | None = None
    """Of the whole stream, when every file was read."""
    header: Header | None = None
    checked_sums: bool = False
    """Whether a SHA256SUMS entry vouched for every byte read."""

    @property
    def ok(self) -> bool:
        return not self.problems


def scan(
    source: Source,
    *,
    into: Callable[[int], bytearray] | None = None,
    out: BinaryIO | None = None,
    check_joined: bool = True,
) -> Report:
    """Read one version of a checkpoint once (see `Version`): hash every file, compare with
    SHA256SUMS, check the header. `Changed` when best/ was replaced before its files were open.

    `into`: given the stream's length, returns a buffer of that length to read the bytes into
    (for loading); `out`: a file to copy the stream to (for joining). `check_joined`: also compare
    a joined file lying next to the chunks with its SHA256SUMS entry."""
    with Version(source) as version:
        return _scan(version, into, out, check_joined)


def _scan(
    version: Version,
    into: Callable[[int], bytearray] | None,
    out: BinaryIO | None,
    check_joined: bool,
) -> Report:
    source, sums, files = version.source, version.sums, version.files
    report = Report(source)
    report.problems += version.sum_problems + version.plan_problems
    report.files = files
    stream = _Stream(into(version.size()) if into is not None else None, out)
    digests: dict[str, str] = {}
    sizes: dict[str, int] = {}
    whole = True
    try:
        for name in files:
            fd = version.fds.get(name)
            result = (
                _read_into_stream(fd, stream)
                if fd is not None
                else version.failed.get(name, "missing")
            )
            if isinstance(result, str):
                report.problems.append(f"{name}: {result}")
                whole = False
                continue
            digests[name], sizes[name] = result
        report.total_bytes = stream.position
        if stream.overflow:  # an opened file grew: someone writes into best/ by hand
            report.problems.append("the checkpoint changed while it was being read")
            whole = False
        if whole:
            report.sha256 = stream.hexdigest()
    finally:
        stream.close()
    if sums is not None and source.chunked:
        _compare_chunks(files, digests, sizes, sums, stream, report)
        report.checked_sums = whole and all(digests.get(n) == sums.get(n) for n in files)
    elif sums is not None and source.name in sums and whole:
        if report.sha256 != sums[source.name]:
            report.problems.append(f"{source.name}: corrupt (does not match {SUMS_FILE})")
        report.checked_sums = report.sha256 == sums[source.name]
    if source.chunked and sums is None and files and SUMS_FILE not in version.failed:
        report.problems.append(
            f"{SUMS_FILE}: missing; without it a corrupt chunk cannot be told from a good one"
        )
    if whole:
        try:
            report.header = parse_header(stream.head, "", file_bytes=stream.position)
        except CheckpointError as exc:
            if report.ok:  # else it is only a consequence of the damage already named
                report.problems.append(str(exc))
    if check_joined and source.chunked and sums is not None and source.name in sums:
        joined = source.joined
        if joined.is_file() and file_sha256(joined) != sums[source.name]:
            report.problems.append(
                f"{source.name}: the joined file does not match {SUMS_FILE} (an old or damaged "
                "join: delete it, or run `hw3tui join --force`)"
            )
    report.problems.sort(key=_by_file)
    return report


def _by_file(problem: str) -> tuple[int, str]:
    """SHA256SUMS's own problems first, then each file's in name (= chunk) order."""
    where = problem.split(": ", 1)[0]
    return (0, "") if where.startswith(SUMS_FILE) else (1, where)


class _Stream:
    """The bytes of a checkpoint as they are read: hashed, kept at the front (for the header),
    copied into a buffer or a file."""

    def __init__(self, into: bytearray | None, out: BinaryIO | None) -> None:
        self.into = memoryview(into) if into is not None else None
        self.out = out
        self.position = 0
        self.overflow = False
        self._spilling = False
        self.head = bytearray()
        self._head_wanted = 8
        # Bytes read into `into` stay put, so a second thread can hash them; a scratch buffer is
        # reused at once, so it is hashed in this thread.
        self._hash: ThreadedSha256 | hashlib._Hash = (
            ThreadedSha256() if into is not None else hashlib.sha256()
        )
        self._scratch = memoryview(bytearray(READ_BLOCK)) if into is None else None

    def buffer(self, size: int) -> memoryview:
        """Where to read the next `size` bytes (at most) to."""
        if self.into is not None:
            room = self.into[self.position :]
            self._spilling = room.nbytes == 0  # a byte read now is one more than expected
            return room[:size] if room.nbytes else memoryview(bytearray(1))
        assert self._scratch is not None
        return self._scratch[: min(size, READ_BLOCK)]

    def take(self, data: memoryview) -> None:
        if self._spilling:
            self.overflow = True
            return
        self._keep_head(data)
        if self.out is not None:
            self.out.write(data)
        self._hash.update(data)
        self.position += data.nbytes

    def _keep_head(self, data: memoryview) -> None:
        while len(self.head) < self._head_wanted and data.nbytes:
            need = self._head_wanted - len(self.head)
            self.head += data[:need]
            data = data[need:]
            if self._head_wanted == 8 and len(self.head) == 8:
                try:
                    self._head_wanted = 8 + header_length(self.head, "")
                except CheckpointError:
                    return  # parse_header reports it

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def close(self) -> None:
        if isinstance(self._hash, ThreadedSha256):
            self._hash.stop()


def _read_into_stream(fd: int, stream: _Stream) -> tuple[str, int] | str:
    """Read one opened file into the stream: (its sha256, its size), or what is wrong with it."""
    try:  # `Version` opened regular files only (`open_regular`): no read here can block
        os.lseek(fd, 0, os.SEEK_SET)
        digest = hashlib.sha256()
        size = 0
        while True:
            target = stream.buffer(READ_BLOCK)
            count = os.readv(fd, [target])
            if count == 0:
                break
            data = target[:count]
            digest.update(data)
            stream.take(data)
            if stream.overflow:
                return "grew while it was being read"
            size += count
        return digest.hexdigest(), size
    except OSError as exc:
        return f"unreadable ({exc.strerror})"


def _compare_chunks(
    files: list[str],
    digests: dict[str, str],
    sizes: dict[str, int],
    sums: dict[str, str],
    stream: _Stream,
    report: Report,
) -> None:
    """Name each chunk that does not match SHA256SUMS: truncated, too long, or corrupt."""
    bad = [n for n in files if n in digests and digests[n] != sums[n]]
    if not bad:
        listed = sums.get(report.source.name)
        if report.sha256 is not None and listed is not None and listed != report.sha256:
            report.problems.append(
                f"{SUMS_FILE}: the joined file's entry does not match the chunks"
            )
        return
    expected = _expected_sizes(files, sizes, {n for n in digests if n not in bad}, stream.head)
    for name in bad:
        size, want = sizes[name], expected.get(name)
        if want is not None and size < want:
            report.problems.append(f"{name}: truncated ({size} of {want} bytes)")
        elif want is not None and size > want:
            report.problems.append(f"{name}: too long ({size} bytes, {want} expected)")
        else:
            report.problems.append(f"{name}: corrupt (its checksum does not match {SUMS_FILE})")


def _expected_sizes(
    files: list[str], sizes: dict[str, int], good: set[str], head: bytearray
) -> dict[str, int]:
    """Each chunk's size as written: every chunk but the last is one chunk size, and the header
    (when readable) gives the total. The chunk size comes from a chunk that checks out, else
    the most common size."""
    try:
        total: int | None = parse_header(head, "", file_bytes=None).total_bytes
    except CheckpointError:
        total = None
    count = len(files)
    if count == 1:
        return {files[0]: total} if total is not None else {}
    firsts = [n for n in files[:-1] if n in sizes]
    chunk: int | None = next((sizes[n] for n in firsts if n in good), None)
    last = files[-1]
    if chunk is None and total is not None and last in good:
        rest = total - sizes[last]
        chunk = rest // (count - 1) if rest % (count - 1) == 0 else None
    if chunk is None and firsts:
        counts = Counter(sizes[n] for n in firsts)
        chunk = max(counts, key=lambda s: (counts[s], s))
    if chunk is None:
        return {}
    expected = dict.fromkeys(files[:-1], chunk)
    if total is not None:
        expected[last] = total - chunk * (count - 1)
    return expected


def file_sha256(path: Path) -> str | None:
    try:
        with open_regular_file(path) as handle:
            digest = hashlib.sha256()
            while block := handle.read(READ_BLOCK):
                digest.update(block)
            return digest.hexdigest()
    except OSError:
        return None


CHANGED_TRIES = 5
"""How often a read starts again when best/ was replaced while its files were being opened.
Opening takes microseconds and a run replaces best/ at most once an epoch, so a second try is
already rare; several only happen against a writer that swaps without pause."""


def checked(path: Path, attempt: Callable[[Source], Report]) -> Report:
    """Locate PATH and run `attempt` on it; again when best/ was replaced (a live run writing a
    new best) before its files were open. CheckpointError if it kept changing."""
    for _ in range(CHANGED_TRIES):
        try:
            return attempt(locate(path))
        except Changed:
            continue
    raise CheckpointError(
        f"{path}: the checkpoint changed while it was being read, {CHANGED_TRIES} times; try again"
    )


def verify(path: Path) -> Report:
    """Check a checkpoint at PATH (see `locate`) without keeping its bytes."""
    return checked(path, scan)


def read_header(path: Path) -> tuple[Source, Header]:
    """Locate a checkpoint and check its header, reading only its first bytes (of one version,
    like `scan`)."""
    for _ in range(CHANGED_TRIES):
        source = locate(path)
        try:
            with Version(source) as version:
                return source, _read_header(version)
        except Changed:
            continue
    raise CheckpointError(
        f"{path}: the checkpoint changed while it was being read, {CHANGED_TRIES} times; try again"
    )


def _read_header(version: Version) -> Header:
    source = version.source
    head = bytearray()
    wanted = 8
    for name, fd in ((n, version.fds[n]) for n in version.files if n in version.fds):
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            while len(head) < wanted:
                data = os.read(fd, wanted - len(head))
                if not data:
                    break
                head += data
                if wanted == 8 and len(head) >= 8:
                    wanted = 8 + header_length(head, source.describe())
        except OSError as exc:
            raise CheckpointError(f"{source.folder / name}: unreadable ({exc.strerror})") from None
    sizes = version.size()
    return parse_header(head, source.describe(), file_bytes=sizes if sizes > 0 else None)


# --- joining ----------------------------------------------------------------------------------
