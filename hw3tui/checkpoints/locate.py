"""What a user's PATH names (a run folder, a best/ folder, a chunk prefix, one chunk, a single
safetensors file) and what SHA256SUMS lists."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from hw3tui.atomic import settled
from hw3tui.checkpoints.format import (
    SUMS_FILE,
    CheckpointError,
    MiB,
)
from hw3tui.errors import NoBestCheckpoint
from hw3tui.regular import NotRegular, TooLarge, open_regular, read_fd

MAX_SUMS_BYTES = MiB


_SUM_LINE = re.compile(r"^(?P<digest>[0-9a-fA-F]{64}) [ *](?P<name>.+)$")


_CHUNK_SUFFIX = re.compile(r"^(?P<name>.+)\.(?P<index>[0-9]+)$")


@dataclass(frozen=True)
class Source:
    """Where a checkpoint's bytes are: a chunk set `folder/name.NNN`, or one file `folder/name`."""

    folder: Path
    name: str
    chunked: bool

    @property
    def joined(self) -> Path:
        return self.folder / self.name

    def describe(self) -> str:
        return str(self.joined) + (".*" if self.chunked else "")

    def chunks(self) -> list[str]:
        """The chunk files on disk, in the order `cat NAME.*` joins them ([] for a single file)."""
        if not self.chunked:
            return []
        return sorted(
            p.name for p in self.folder.glob(f"{self.name}.*") if is_chunk_of(p.name, self.name)
        )


def locate(path: Path) -> Source:
    """What PATH means: a run directory (its best/), a best/ directory, a chunk prefix (or one
    chunk), or a single safetensors file. CheckpointError when it names none of these. A run's
    name is resolved before this (`hw3tui.runs.find_run`, which knows the runs folder)."""
    path = Path(path)
    if not os.path.lexists(path):
        path = settled(path)  # a best/ that a killed swap left aside
    if path.is_dir():
        names = _checkpoint_names(path)
        if not names:
            best = settled(path / "best")
            if best.is_dir():
                path, names = best, _checkpoint_names(best)
        if not names and (path / "status.json").is_file():
            raise NoBestCheckpoint(f"{path}: this run has no best checkpoint (yet)")
        if not names:
            raise CheckpointError(
                f"{path}: no checkpoint here (expected NAME.safetensors.000, ... and {SUMS_FILE}, "
                "or a run directory)"
            )
        if len(names) > 1:
            listed = ", ".join(sorted(names))
            raise CheckpointError(f"{path}: several checkpoints here ({listed}); name one")
        ((name, chunked),) = names.items()
        return Source(path, name, chunked)
    folder = path.parent
    chunk = _CHUNK_SUFFIX.match(path.name)
    if path.is_file() and chunk is not None:
        return Source(folder, chunk["name"], chunked=True)
    if path.is_file():
        return Source(folder, path.name, chunked=False)
    if os.path.lexists(path):
        raise CheckpointError(f"{path}: not a regular file or directory")
    if _chunk_files(folder, path.name) or path.name in _checkpoint_names(folder):
        return Source(folder, path.name, chunked=True)
    raise CheckpointError(f"{path}: no such file, directory or chunk prefix")


def _checkpoint_names(folder: Path) -> dict[str, bool]:
    """Checkpoints in a folder: joined name -> whether it is chunked."""
    sums, _ = read_sums(folder)
    names: dict[str, bool] = {}
    if sums is not None:
        for entry in sums:
            chunk = _CHUNK_SUFFIX.match(entry)
            if chunk is not None:
                names[chunk["name"]] = True
            else:
                names.setdefault(entry, False)
        if names:
            return names
    try:
        entries = [p.name for p in folder.iterdir() if p.is_file()]
    except OSError:
        return {}
    for entry in entries:
        chunk = _CHUNK_SUFFIX.match(entry)
        if chunk is not None and chunk["name"].endswith(".safetensors"):
            names[chunk["name"]] = True
    for entry in entries:
        if entry.endswith(".safetensors"):
            names.setdefault(entry, False)
    return names


def _chunk_files(folder: Path, name: str) -> list[str]:
    """Files that `cat NAME.*` would join, in the shell's (lexical) order."""
    try:
        return sorted(p.name for p in folder.iterdir() if p.name.startswith(name + "."))
    except OSError:
        return []


def read_sums(folder: Path) -> tuple[dict[str, str] | None, list[str]]:
    """SHA256SUMS as {file name: digest} (None when there is none), and the problems found in it."""
    try:
        fd = open_regular(folder / SUMS_FILE, follow_symlinks=False)
    except FileNotFoundError:
        return None, []
    except OSError as exc:
        return parse_sums(exc)
    try:
        return parse_sums(read_sums_fd(fd))
    finally:
        os.close(fd)


def read_sums_fd(fd: int) -> bytes | OSError:
    """SHA256SUMS's bytes from an open descriptor (at most `MAX_SUMS_BYTES`: no further is
    read), or why they could not be read."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return read_fd(fd, SUMS_FILE, limit=MAX_SUMS_BYTES)
    except OSError as exc:
        return exc


def parse_sums(data: bytes | OSError) -> tuple[dict[str, str], list[str]]:
    """SHA256SUMS's bytes as {file name: digest}, and the problems found in them."""
    if isinstance(data, TooLarge):
        return {}, [f"{SUMS_FILE}: larger than {MAX_SUMS_BYTES // MiB} MiB, not a checksum list"]
    if isinstance(data, NotRegular):
        return {}, [f"{SUMS_FILE}: {data.reason}"]
    if isinstance(data, OSError):
        return {}, [f"{SUMS_FILE}: unreadable ({data.strerror})"]
    sums: dict[str, str] = {}
    problems: list[str] = []
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = _SUM_LINE.match(line)
        if match is None:
            problems.append(f"{SUMS_FILE} line {number}: not '<sha256>  <file>'")
            continue
        name = match["name"]
        if "/" in name or "\\" in name or name in (".", ".."):
            problems.append(f"{SUMS_FILE} line {number}: names a file outside its folder")
        elif name in sums:
            problems.append(f"{SUMS_FILE} line {number}: lists {name} twice")
        else:
            sums[name] = match["digest"].lower()
    return sums, problems


def is_chunk_of(entry: str, name: str) -> bool:
    chunk = _CHUNK_SUFFIX.match(entry)
    return chunk is not None and chunk["name"] == name
