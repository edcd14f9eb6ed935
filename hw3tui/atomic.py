"""Replace files and whole directories so that a kill at any instant leaves the old or the new.

A file is staged as `.NAME.partial-XXXX` next to it, fsynced and renamed over it. A directory is
staged as `.NAME.staging-XXXX`, its files and itself fsynced, then swapped into place:

- Linux (renameat2 RENAME_EXCHANGE) and macOS (renamex_np RENAME_SWAP): the staged directory and
  the target trade names in one atomic step; the old content, now under the staging name, is
  removed afterwards.
- Elsewhere (or on a file system without the exchange): the target is renamed aside to
  `.NAME.old-XXXX`, the staged directory renamed into place, then the aside copy removed. A kill
  between the two renames leaves no target but a complete aside copy, which `clean_leftovers`
  renames back (and `settled` reads meanwhile).

The target stays a real directory (no symlink flip): students copy `best/` with `cp -r`, zip and
git, which all treat symlinks differently.

A writer holds a shared flock on the parent folder while it writes (and an exclusive one on what
it stages), and `clean_leftovers` cleans only when it can lock the parent exclusively: so a reader
(the TUI, `hw3tui eval`) never removes a live writer's staging directory or partial file, not even
in the instant between its creation and its lock. The locks die with the writer, which is when its
leftovers become garbage.

A write that fails because the disk (or the user's quota) is full raises `DiskFull` naming the
file or folder it was writing, after removing what it staged: the previous content stays. No torch
here.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import re
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>staging|old|partial)-[0-9a-f]{12}$")
"""Names of what a killed write can leave behind (see the module docstring)."""

_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV}

_FULL = {errno.ENOSPC, errno.EDQUOT}


class DiskFull(OSError):
    """A write failed for want of space (ENOSPC) or quota (EDQUOT): "disk full while writing
    PATH". An `OSError`, so code that already copes with failed writes still does."""

    def __init__(self, path: Path, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror, str(path))
        self.path = Path(path)

    def __str__(self) -> str:
        return f"disk full while writing {self.path}"


@contextlib.contextmanager
def naming_full_disk(path: Path) -> Iterator[None]:
    """Raise an ENOSPC or EDQUOT error from inside as `DiskFull(path)`; others pass unchanged."""
    try:
        yield
    except DiskFull:
        raise
    except OSError as exc:
        if exc.errno not in _FULL:
            raise
        raise DiskFull(path, exc) from exc


def _sibling(target: Path, kind: str) -> Path:
    return target.parent / f".{target.name}.{kind}-{secrets.token_hex(6)}"


# --- files ------------------------------------------------------------------------------------


@contextlib.contextmanager
def open_atomic(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write that replaces `path` on clean exit (fsynced); on error, nothing.

    Keeps the mode of the file it replaces (else 0o644).
    """
    path = Path(path)
    staged = _sibling(path, "partial")
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    with naming_full_disk(path), _writing_in(path.parent):
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        try:
            _try_flock(fd)
            with os.fdopen(fd, "wb", closefd=False) as out:
                yield out
                out.flush()
                os.fsync(fd)
            staged.rename(path)
            fsync_dir(path.parent)
        except BaseException:
            with contextlib.suppress(OSError):
                staged.unlink()
            raise
        finally:
            os.close(fd)


def write_bytes_atomic(path: Path, data: bytes | bytearray | memoryview) -> None:
    """Replace `path` with `data`: a kill at any instant leaves the old file or the new one."""
    with open_atomic(path) as out:
        out.write(data)


def write_text_atomic(path: Path, text: str) -> None:
    """`write_bytes_atomic` for UTF-8 text."""
    write_bytes_atomic(path, text.encode("utf-8"))


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in `path` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems refuse fsync on a directory
        if exc.errno not in _UNSUPPORTED and exc.errno != errno.EBADF:
            raise
    finally:
        os.close(fd)


# --- directories ------------------------------------------------------------------------------


@contextlib.contextmanager
def replace_dir(target: Path) -> Iterator[Path]:
    """Yield an empty staging directory next to `target`; on clean exit fsync its files and itself
    and swap it into place atomically (previous content intact until then, removed after); on error
    remove the staging directory and leave `target` untouched.

    Leftovers of an earlier killed write next to `target` are cleaned up first.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(target.parent)
    staging = _sibling(target, "staging")
    with naming_full_disk(target), _writing_in(target.parent):
        staging.mkdir(0o755)
        with _held(staging):
            try:
                yield staging
                _fsync_tree(staging)
                fsync_dir(target.parent)
                old = _swap_into_place(staging, target)
            except BaseException:
                # `staging` is never the only copy of what `target` holds now: before the swap
                # it has the new content, after an exchange the old
                with contextlib.suppress(OSError):
                    _remove(staging)
                raise
        if old is not None:
            # The swap is done and durable: from here on a failure only leaves garbage, which
            # the next write (or reader) removes.
            with contextlib.suppress(OSError):
                _remove(old)


def clean_leftovers(parent: Path, name: str | None = None) -> None:
    """Remove staging directories and partial files left by a killed write in `parent`, and put
    back a target that a killed fallback swap had moved aside. Leftovers of a live writer (still
    locked) are left alone; errors are ignored (this is housekeeping, never worth failing for).
    `name`: only the leftovers of that target."""
    with _no_writer_in(Path(parent)) as quiet:
        if quiet:
            _clean(Path(parent), name)


def _clean(parent: Path, name: str | None) -> None:
    try:
        entries = sorted(parent.iterdir())
    except OSError:
        return
    for entry in entries:
        match = LEFTOVER.match(entry.name)
        if match is None or name not in (None, match["name"]):
            continue
        with contextlib.suppress(OSError), _held(entry, wait=False) as free:
            if not free:
                continue
            target = entry.parent / match["name"]
            if match["kind"] == "old" and not os.path.lexists(target):
                entry.rename(target)
                fsync_dir(entry.parent)
            else:
                _remove(entry)


def settled(target: Path) -> Path:
    """Where the complete content of `target` is now: `target` itself, or, when a killed swap left
    it only aside (and the folder is read-only, so it could not be put back), the aside copy."""
    target = Path(target)
    clean_leftovers(target.parent, target.name)
    if os.path.lexists(target):
        return target
    with contextlib.suppress(OSError):
        for entry in sorted(target.parent.iterdir()):
            match = LEFTOVER.match(entry.name)
            if match and match["kind"] == "old" and match["name"] == target.name:
                return entry
    return target


# --- internals --------------------------------------------------------------------------------


def _swap_into_place(staging: Path, target: Path) -> Path | None:
    """Put `staging` at `target`; return where the previous content now is (None if none)."""
    if _exchange is not None:
        try:
            _exchange(staging, target)
        except FileNotFoundError:
            pass  # no target yet: a plain rename below is atomic
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED:
                raise
        else:
            fsync_dir(target.parent)
            return staging
    if not os.path.lexists(target):
        staging.rename(target)
        fsync_dir(target.parent)
        return None
    aside = _sibling(target, "old")
    # Lock the old content before it becomes a leftover, so another process's clean_leftovers
    # cannot "restore" it between our two renames.
    with _held(target):
        target.rename(aside)
        fsync_dir(target.parent)
        staging.rename(target)
        fsync_dir(target.parent)
    return aside


def _fsync_tree(root: Path) -> None:
    for folder, dirs, files in os.walk(root):
        for name in files:
            fd = os.open(Path(folder, name), os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        for name in dirs:
            fsync_dir(Path(folder, name))
    fsync_dir(root)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _try_flock(fd: int) -> bool:
    """Take an exclusive flock without waiting: False if another process holds it. Where flock
    is not supported (some network file systems) pretend it worked: locks only guard against a
    concurrent cleaner, never against data loss in a single writer."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


@contextlib.contextmanager
def _writing_in(parent: Path) -> Iterator[None]:
    """Hold a shared flock on `parent` while staging in it: cleaners stay out meanwhile."""
    try:
        fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _no_writer_in(parent: Path) -> Iterator[bool]:
    """Yields whether no writer is staging in `parent` (held exclusively while cleaning)."""
    try:
        fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        yield False
        return
    try:
        yield _try_flock(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _held(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive flock on `path` (a file or a directory); yields whether it is ours."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        yield wait  # a writer goes on without the lock; a cleaner leaves what it cannot lock
        return
    try:
        if wait:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield True
        else:
            yield _try_flock(fd)
    finally:
        os.close(fd)


def _load_exchange() -> Callable[[Path, Path], None] | None:
    """The OS call that swaps two paths atomically, if this platform has one."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    if sys.platform.startswith("linux"):
        renameat2 = getattr(libc, "renameat2", None)  # glibc >= 2.28
        if renameat2 is None:
            return None
        renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
        renameat2.argtypes.append(ctypes.c_uint)
        renameat2.restype = ctypes.c_int
        at_fdcwd, rename_exchange = -100, 2

        def call(a: bytes, b: bytes) -> int:
            return int(renameat2(at_fdcwd, a, at_fdcwd, b, rename_exchange))

    elif sys.platform == "darwin":
        renamex_np = getattr(libc, "renamex_np", None)
        if renamex_np is None:
            return None
        renamex_np.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
        renamex_np.restype = ctypes.c_int
        rename_swap = 2

        def call(a: bytes, b: bytes) -> int:
            return int(renamex_np(a, b, rename_swap))

    else:
        return None

    def exchange(a: Path, b: Path) -> None:
        if call(os.fsencode(a), os.fsencode(b)) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), str(a), None, str(b))

    return exchange


_exchange: Callable[[Path, Path], None] | None = _load_exchange()
"""Atomic swap of two paths, or None where only the rename-aside fallback works."""
