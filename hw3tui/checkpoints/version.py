"""One version of a checkpoint's files, opened together through one handle on its folder, so a swap
by a live run while they are read cannot mix two versions."""

from __future__ import annotations

import errno
import os

from hw3tui.checkpoints.format import SUMS_FILE
from hw3tui.checkpoints.locate import Source, is_chunk_of, parse_sums, read_sums_fd
from hw3tui.regular import NotRegular, open_regular


class Changed(Exception):
    """best/ was replaced (a live run wrote a new best) before its files could all be opened."""


class Version:
    """One version of a checkpoint's files, opened together.

    A live run replaces best/ whole (see `hw3tui.atomic.replace_dir`) but never changes a file
    in place. So the folder is opened once, listed through that handle, and SHA256SUMS and every
    chunk are opened relative to it before a byte is read: whatever is swapped in afterwards,
    the reads see the one version that was opened. Only a swap that removes the old files while
    they are being opened can interfere; that raises `Changed` (retried by `checked`), never a
    report of corruption.

    Only regular files are opened, and no link is followed (`open_regular`): a FIFO would block
    the open until a writer came, and a chunk linked to a file elsewhere is not this
    checkpoint's. A single file named as such (`model.safetensors`) may be a link.
    """

    def __init__(self, source: Source) -> None:
        self.source = source
        self.fds: dict[str, int] = {}
        self.failed: dict[str, str] = {}
        """Files listed in the folder that could not be opened: name -> why."""
        self._dir = os.open(source.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            self.entries = sorted(os.listdir(self._dir))  # noqa: PTH208 (by handle, not path)
            self.sums: dict[str, str] | None = None
            self.sum_problems: list[str] = []
            if SUMS_FILE in self.entries:
                fd = self._open(SUMS_FILE)
                if fd is not None:
                    self.sums, self.sum_problems = parse_sums(read_sums_fd(fd))
                elif self.failed[SUMS_FILE] != "missing":
                    self.sum_problems = [f"{SUMS_FILE}: {self.failed[SUMS_FILE]}"]
            self.files, self.plan_problems = _plan(source, self.sums, self.entries)
            for name in self.files:
                if name in self.entries:
                    self._open(name)
            if self._vanished() and self._replaced():
                raise Changed(source.describe())
        except BaseException:
            self.close()
            raise

    def _open(self, name: str) -> int | None:
        follow = not self.source.chunked and name == self.source.name
        try:
            fd = open_regular(name, dir_fd=self._dir, follow_symlinks=follow)
        except NotRegular as exc:
            self.failed[name] = exc.reason
            return None
        except OSError as exc:
            self.failed[name] = (
                "missing" if exc.errno == errno.ENOENT else (f"unreadable ({exc.strerror})")
            )
            return None
        self.fds[name] = fd
        return fd

    def _vanished(self) -> bool:
        """Whether a file this version needs is gone: listed but not there, or not listed."""
        return (
            any(why == "missing" for why in self.failed.values())
            or any(name not in self.entries for name in self.files)
            or (self.source.chunked and SUMS_FILE not in self.entries)
        )

    def _replaced(self) -> bool:
        """Whether the folder's path now leads elsewhere than the folder opened (or nowhere)."""
        opened = os.fstat(self._dir)
        try:
            now = self.source.folder.stat()
        except OSError:
            return True
        return opened.st_nlink == 0 or (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino)

    def size(self) -> int:
        """The bytes of the stream, as the opened files hold them."""
        return sum(os.fstat(self.fds[name]).st_size for name in self.files if name in self.fds)

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()
        os.close(self._dir)

    def __enter__(self) -> Version:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _plan(
    source: Source, sums: dict[str, str] | None, entries: list[str]
) -> tuple[list[str], list[str]]:
    """The files to read, in order, and problems: extra files that `cat NAME.*` would pick up,
    gaps in the chunk numbers. `entries`: the folder's listing."""
    if not source.chunked:
        return [source.name], []
    problems: list[str] = []
    present = sorted(e for e in entries if e.startswith(source.name + "."))
    if sums is not None:
        listed = [n for n in sums if is_chunk_of(n, source.name)]
    else:
        listed = [n for n in present if is_chunk_of(n, source.name)]
    listed.sort(key=lambda n: int(n.rsplit(".", 1)[1]))
    numbers = [int(n.rsplit(".", 1)[1]) for n in listed]
    if sums is None and numbers:
        width = len(listed[0].rsplit(".", 1)[1])
        have = set(numbers)
        gaps = [i for i in range(max(numbers) + 1) if i not in have]
        problems += [f"{source.name}.{i:0{width}d}: missing" for i in gaps]
    elif numbers != list(range(len(numbers))):
        problems.append(f"{SUMS_FILE}: the chunk numbers listed are not 0, 1, 2, ...")
    if sorted(listed) != listed:
        problems.append(
            f"{source.name}.*: chunk numbers of different widths: `cat` would misorder them"
        )
    for name in present:
        if name not in listed:
            problems.append(
                f"{name}: extra file, not a chunk listed in {SUMS_FILE} (`cat {source.name}.*` "
                "would include it): remove it"
                if sums is not None
                else f"{name}: extra file (`cat {source.name}.*` would include it): remove it"
            )
    return listed, problems
