"""Atomic replacement of files and directories (kill tests: test_checkpoint_kill.py)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hw3tui import atomic
from hw3tui.atomic import (
    clean_leftovers,
    open_atomic,
    replace_dir,
    settled,
    write_bytes_atomic,
)


@pytest.fixture(params=["exchange", "rename-aside"])
def swap(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each directory test runs with the atomic exchange and with the portable fallback."""
    if request.param == "rename-aside":
        monkeypatch.setattr(atomic, "_exchange", None)
    elif atomic._exchange is None:
        pytest.skip("no atomic exchange on this platform")
    yield request.param


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty folder of its own (tmp_path also holds the isolated home and work folders)."""
    folder = tmp_path / "root"
    folder.mkdir()
    return folder


def fill(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).write_text(text)


def contents(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def test_replace_dir_creates_then_replaces_whole_folder(root: Path, swap: str) -> None:
    target = root / "best"
    with replace_dir(target) as staging:
        assert staging.parent == root and not any(staging.iterdir())
        fill(staging, {"a.000": "old-a", "old-only": "x"})
    assert contents(target) == {"a.000": "old-a", "old-only": "x"}

    with replace_dir(target) as staging:
        fill(staging, {"a.000": "new-a", "b.000": "new-b"})
        assert contents(target) == {"a.000": "old-a", "old-only": "x"}  # intact until the swap
    assert contents(target) == {"a.000": "new-a", "b.000": "new-b"}
    assert [p.name for p in root.iterdir()] == ["best"]  # no staging or old copy left


def test_replace_dir_error_leaves_target_and_no_staging(root: Path, swap: str) -> None:
    target = root / "best"
    target.mkdir()
    fill(target, {"keep": "1"})
    with pytest.raises(RuntimeError, match="disk full"), replace_dir(target) as staging:
        fill(staging, {"half": "written"})
        raise RuntimeError("disk full")
    assert contents(target) == {"keep": "1"}
    assert [p.name for p in root.iterdir()] == ["best"]


def test_replace_dir_keeps_subfolders(root: Path, swap: str) -> None:
    with replace_dir(root / "state") as staging:
        (staging / "optim").mkdir()
        fill(staging / "optim", {"groups.json": "{}"})
    assert (root / "state" / "optim" / "groups.json").read_text() == "{}"


def test_leftovers_of_a_killed_write_are_removed(root: Path) -> None:
    target = root / "best"
    target.mkdir()
    fill(target, {"good": "1"})
    staging = root / ".best.staging-0123456789ab"  # killed while writing
    staging.mkdir()
    fill(staging, {"half": "x"})
    partial = root / ".status.json.partial-0123456789ab"
    partial.write_text("{")
    old = root / ".best.old-0123456789ab"  # killed after the swap, before removing the old
    old.mkdir()
    unrelated = root / ".best.staging-not-ours"
    unrelated.mkdir()

    clean_leftovers(root)

    assert sorted(p.name for p in root.iterdir()) == [".best.staging-not-ours", "best"]
    assert contents(target) == {"good": "1"}


def test_target_moved_aside_by_a_killed_swap_is_put_back(root: Path) -> None:
    # killed between "rename best aside" and "rename staging into place" (fallback swap)
    aside = root / ".best.old-0123456789ab"
    aside.mkdir()
    fill(aside, {"previous": "complete"})
    (root / ".best.staging-ba9876543210").mkdir()  # the new one, never swapped in

    assert settled(root / "best") == root / "best"

    assert contents(root / "best") == {"previous": "complete"}
    assert [p.name for p in root.iterdir()] == ["best"]


def test_next_write_recovers_then_replaces(root: Path, swap: str) -> None:
    aside = root / ".best.old-0123456789ab"
    aside.mkdir()
    fill(aside, {"previous": "complete"})
    with replace_dir(root / "best") as staging:
        fill(staging, {"new": "1"})
    assert contents(root / "best") == {"new": "1"}
    assert [p.name for p in root.iterdir()] == ["best"]


def test_a_live_writers_staging_is_not_cleaned(root: Path) -> None:
    staging = root / ".best.staging-0123456789ab"
    staging.mkdir()
    fd = os.open(staging, os.O_RDONLY)  # a writer's lock (flock is per open file description)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        clean_leftovers(root)
        assert staging.is_dir()
    finally:
        os.close(fd)
    clean_leftovers(root)
    assert not staging.exists()


def test_cleaning_a_folder_with_a_live_write_in_progress(root: Path, swap: str) -> None:
    target = root / "best"
    with replace_dir(target) as staging:
        fill(staging, {"a": "1"})
        clean_leftovers(root)  # e.g. `hw3tui verify` in another terminal
        assert staging.is_dir()
    assert contents(target) == {"a": "1"}


def test_write_bytes_atomic_replaces_keeping_mode(root: Path) -> None:
    path = root / "status.json"
    path.write_text("old")
    path.chmod(0o600)
    write_bytes_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in root.iterdir()] == ["status.json"]


def test_open_atomic_error_keeps_old_file(root: Path) -> None:
    path = root / "model.safetensors"
    path.write_bytes(b"old")
    with pytest.raises(OSError, match="boom"), open_atomic(path) as out:
        out.write(b"half")
        raise OSError("boom")
    assert path.read_bytes() == b"old"
    assert [p.name for p in root.iterdir()] == ["model.safetensors"]


def test_settled_touches_only_its_own_leftovers(root: Path) -> None:
    other = root / ".state.staging-0123456789ab"
    other.mkdir()
    mine = root / ".best.staging-0123456789ab"
    mine.mkdir()
    assert settled(root / "best") == root / "best"  # nothing to restore: best never existed
    assert sorted(p.name for p in root.iterdir()) == [".state.staging-0123456789ab"]


def test_a_reader_cleaning_never_removes_what_a_writer_just_created(
    root: Path, swap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The instant between a staging folder's (or a partial file's) creation and its lock: a
    reader's clean-up there used to delete it under the writer (FileNotFoundError in the run)."""
    mkdir, open_fd = Path.mkdir, os.open

    def clean_right_after(created: Path) -> None:
        if atomic.LEFTOVER.match(created.name):
            clean_leftovers(created.parent)  # what the TUI or `hw3tui eval` may do at any time

    def mkdir_then_clean(self: Path, *args: Any, **kwargs: Any) -> None:
        mkdir(self, *args, **kwargs)
        clean_right_after(self)

    def open_then_clean(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        fd = open_fd(path, flags, *args, **kwargs)
        if flags & os.O_CREAT:
            clean_right_after(Path(path))
        return fd

    monkeypatch.setattr(Path, "mkdir", mkdir_then_clean)
    monkeypatch.setattr(os, "open", open_then_clean)
    for round_ in range(3):
        with replace_dir(root / "best") as staging:
            (staging / "a").write_text(str(round_))
        write_bytes_atomic(root / "status.json", b"{}")
    assert (root / "best" / "a").read_text() == "2"
    assert sorted(p.name for p in root.iterdir()) == ["best", "status.json"]
