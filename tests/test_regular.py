"""`hw3tui.regular`: what is not a regular file is refused before anything blocks on it or reads
it without end (the timeouts turn a hang into a failure)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hw3tui.regular import (
    NotRegular,
    TooLarge,
    open_regular,
    read_regular,
    why_not_regular,
)

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def things(tmp_path: Path) -> Path:
    (tmp_path / "file").write_bytes(b"12345")
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "zero").symlink_to("/dev/zero")
    return tmp_path


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("file", None),
        ("link", None),
        ("folder", "a folder"),
        ("fifo", "a FIFO"),
        ("zero", "a device"),
        ("dangling", "a dangling symbolic link"),
        ("loop", "a symbolic link loop"),
    ],
)
def test_why_not_regular(things: Path, name: str, what: str | None) -> None:
    assert why_not_regular(things / name) == what


@pytest.mark.parametrize(
    ("name", "what"), [("folder", "a folder"), ("fifo", "a FIFO"), ("zero", "a device")]
)
def test_open_refuses_what_is_not_a_regular_file(things: Path, name: str, what: str) -> None:
    with pytest.raises(NotRegular) as caught:
        open_regular(things / name)
    assert caught.value.what == what
    assert str(caught.value) == f"{things / name}: {what}, not a regular file"


def test_a_link_is_followed_only_when_asked(things: Path) -> None:
    assert read_regular(things / "link", limit=10) == b"12345"
    with pytest.raises(NotRegular, match="a symbolic link, not a regular file"):
        read_regular(things / "link", limit=10, follow_symlinks=False)
    folder = os.open(things, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert read_regular("file", limit=10, dir_fd=folder, follow_symlinks=False) == b"12345"
        with pytest.raises(NotRegular, match="a symbolic link"):
            open_regular("link", dir_fd=folder, follow_symlinks=False)
        with pytest.raises(FileNotFoundError):
            open_regular("gone", dir_fd=folder, follow_symlinks=False)
    finally:
        os.close(folder)


def test_reads_stop_at_the_limit(tmp_path: Path) -> None:
    sparse = tmp_path / "sparse"
    sparse.touch()
    os.truncate(sparse, 1 << 40)  # a terabyte of nothing: reading it all would never end
    with pytest.raises(TooLarge, match="larger than 1,024 bytes"):
        read_regular(sparse, limit=1024)
    (tmp_path / "exact").write_bytes(b"x" * 1024)
    assert len(read_regular(tmp_path / "exact", limit=1024)) == 1024


def test_a_descriptor_of_a_regular_file_reads_as_usual(things: Path) -> None:
    fd = open_regular(things / "file")
    try:
        assert os.get_blocking(fd)  # O_NONBLOCK, used to open it, is cleared again
        assert os.read(fd, 10) == b"12345"
    finally:
        os.close(fd)
