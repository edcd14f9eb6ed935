"""Open only regular files: a FIFO, a device, a socket or a folder where a file should be is
refused before a read can block or never end.

Files come from other people (a shared checkpoint's chunks and SHA256SUMS, a preset, an image),
and a path can name anything. `open()` of a FIFO waits for a writer that never comes; a read of
`/dev/zero` never ends; a chunk linked to `/etc/passwd` is someone else's file. So a file is
looked at (`stat`, without opening it: opening a device can have effects of its own) and then
opened with `O_NONBLOCK` (which an open of a FIFO or a device honours and a regular file ignores)
and looked at again through the open handle (`fstat`), which is what a swap between the two
cannot fool. Anything but a regular file is refused with what it is (`NotRegular`, an `OSError`,
so code that copes with an unreadable file already copes with it).

    fd = open_regular(path)                              # follows links, like open()
    fd = open_regular(name, dir_fd=folder, follow_symlinks=False)   # a link is refused too
    data = read_regular(path, limit=MiB)                 # TooLarge past the limit: stops reading

No torch here, and nothing above this layer.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path
from typing import BinaryIO

StrPath = str | os.PathLike[str]

_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY


class NotRegular(OSError):
    """`path` is not a regular file: `what` says what it is ("a FIFO", "a symbolic link", ...).
    Its message is "PATH: a FIFO, not a regular file"."""

    def __init__(self, path: StrPath, what: str) -> None:
        self.what = what
        self.reason = f"{what}, not a regular file"
        super().__init__(errno.EINVAL, self.reason, os.fspath(path))

    def __str__(self) -> str:
        return f"{os.fspath(self.filename)}: {self.reason}"


class TooLarge(OSError):
    """A file holds more than the `limit` bytes a reader accepts (it stopped reading there)."""

    def __init__(self, path: StrPath, limit: int) -> None:
        super().__init__(errno.EFBIG, f"larger than {limit:,} bytes", os.fspath(path))
        self.limit = limit

    def __str__(self) -> str:
        return f"{os.fspath(self.filename)}: {self.strerror}"


def kind(mode: int) -> str:
    """What a `st_mode` is, in words ("a FIFO", "a folder", "a regular file", ...)."""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


def why_not_regular(path: StrPath) -> str | None:
    """None when `path` leads to a regular file (through links), else what it is instead: "a
    folder", "a FIFO", "a dangling symbolic link", "a symbolic link loop", ... Opens nothing."""
    try:
        mode = Path(path).stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop"
        if exc.errno == errno.ENOENT and Path(path).is_symlink():
            return "a dangling symbolic link"
        return f"unreadable ({exc.strerror})"
    return None if stat.S_ISREG(mode) else kind(mode)


def open_regular(path: StrPath, *, dir_fd: int | None = None, follow_symlinks: bool = True) -> int:
    """A read-only descriptor of the regular file at `path` (relative to `dir_fd` when given).

    `NotRegular` for anything else, without blocking on it: a FIFO, a device, a socket, a folder
    and, with `follow_symlinks=False`, a symbolic link. Other `OSError`s (missing, permission)
    pass unchanged."""
    before = os.stat(path, dir_fd=dir_fd, follow_symlinks=follow_symlinks)
    if not stat.S_ISREG(before.st_mode):
        raise NotRegular(path, kind(before.st_mode))
    flags = _FLAGS | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:  # became a link since the stat
            raise NotRegular(path, "a symbolic link") from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # swapped for something else since the stat
            raise NotRegular(path, kind(mode))
        # reads of a regular file never block anyway; clear the flag so they look like any other
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_regular_file(path: StrPath, *, follow_symlinks: bool = True) -> BinaryIO:
    """`open_regular` as a binary file object (`open(path, "rb")` that refuses a FIFO)."""
    return os.fdopen(open_regular(path, follow_symlinks=follow_symlinks), "rb")


def read_fd(fd: int, path: StrPath, *, limit: int) -> bytes:
    """Everything an open descriptor holds from its current position, reading at most `limit`
    bytes and one more: `TooLarge` when that one more is there (the rest is never read)."""
    chunks: list[bytes] = []
    left = limit + 1
    while left > 0:
        data = os.read(fd, min(left, 1024 * 1024))
        if not data:
            break
        chunks.append(data)
        left -= len(data)
    if left <= 0:
        raise TooLarge(path, limit)
    return b"".join(chunks)


def read_regular(
    path: StrPath, *, limit: int, dir_fd: int | None = None, follow_symlinks: bool = True
) -> bytes:
    """The bytes of the regular file at `path`: `NotRegular` for anything else (see
    `open_regular`), `TooLarge` past `limit` bytes, read no further than that."""
    fd = open_regular(path, dir_fd=dir_fd, follow_symlinks=follow_symlinks)
    try:
        return read_fd(fd, path, limit=limit)
    finally:
        os.close(fd)


def read_text_regular(path: StrPath, *, limit: int, errors: str = "strict") -> str:
    """`read_regular` decoded as UTF-8 (a BOM dropped): the text of a file from someone else's
    folder (a run's notes, a frozen sweep file, a leaderboard), read no further than `limit`.
    `UnicodeDecodeError` (a `ValueError`) for bytes that are not UTF-8 unless `errors` says."""
    return read_regular(path, limit=limit).decode("utf-8-sig", errors)
