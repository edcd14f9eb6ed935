r"""What every reader must do with a hostile file, checked on bytes: no traceback, no raw ESC, BEL
or C1 (U+0080-U+009F, `\xc2\x80`-`\xc2\x9f` in UTF-8) in stdout, stderr or any text file
written, and an exit code the README documents.

Readers run in-process (CliRunner, Pilot) for speed; a FIFO that a reader opens blocking would
hang the test, so `fifo_watchdog` opens every FIFO of the case for writing after a while (which
frees a blocked reader with an end of file) and the test fails naming the FIFO.
"""

from __future__ import annotations

import io
import logging
import os
import re
import stat
import threading
import time
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner

RAW = re.compile(rb"[\x1b\x07]|\xc2[\x80-\x9f]")
TEXT_FILES = {".md", ".csv", ".svg", ".json", ".txt", ".yaml", ".html"}
DOCUMENTED_EXITS = {0, 1, 2}
HANG_SECONDS = 20.0


@dataclass
class Outcome:
    """What a user saw: the exit code, the bytes on stdout and stderr (warnings and log records
    included, as a terminal shows them), and the exception that escaped (a traceback)."""

    exit_code: int
    stdout: bytes
    stderr: bytes
    crash: str | None = None
    blocked: list[str] = field(default_factory=list)

    def crash_tail(self) -> str | None:
        """The end of the traceback: where it was raised and what."""
        return None if self.crash is None else "\n".join(self.crash.splitlines()[-8:])

    def shown(self) -> str:
        return (
            f"exit {self.exit_code}\n--- stdout\n{self.stdout[-3000:]!r}\n"
            f"--- stderr\n{self.stderr[-3000:]!r}\n--- crash\n{self.crash_tail()}\n"
            f"--- blocked on\n{self.blocked}"
        )


def raw_bytes(data: bytes) -> list[bytes]:
    """Each raw control byte sequence in `data`, with a little context."""
    return [data[max(0, m.start() - 12) : m.end() + 12] for m in RAW.finditer(data)][:5]


def assert_clean(outcome: Outcome, where: str) -> None:
    """No traceback, no raw control byte, no hang, a documented exit code."""
    assert not outcome.blocked, f"{where}: blocked opening a FIFO\n{outcome.shown()}"
    assert outcome.crash is None, f"{where}: traceback\n{outcome.shown()}"
    assert b"Traceback" not in outcome.stderr, f"{where}: traceback\n{outcome.shown()}"
    assert b"Traceback" not in outcome.stdout, f"{where}: traceback\n{outcome.shown()}"
    for name, data in (("stdout", outcome.stdout), ("stderr", outcome.stderr)):
        assert not raw_bytes(data), f"{where}: raw bytes on {name}: {raw_bytes(data)}"
    assert outcome.exit_code in DOCUMENTED_EXITS, f"{where}: undocumented exit\n{outcome.shown()}"


def assert_files_clean(folder: Path) -> None:
    """Every text file written under `folder` holds no raw control byte."""
    for path in sorted(p for p in folder.rglob("*") if p.suffix in TEXT_FILES and p.is_file()):
        found = raw_bytes(path.read_bytes())
        assert not found, f"{path.relative_to(folder)!r}: raw bytes {found}"


# --- a FIFO a reader blocks on --------------------------------------------------------------------


def fifos(root: Path) -> list[Path]:
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if stat.S_ISFIFO(path.lstat().st_mode):
                found.append(path)
    return found


@contextmanager
def fifo_watchdog(root: Path, after: float = HANG_SECONDS) -> Iterator[list[str]]:
    """After `after` seconds, keep opening every FIFO under `root` for writing (non-blocking:
    it succeeds only while a reader waits on the other end), then close it: the reader sees an
    end of file and goes on. The names of the FIFOs a reader was blocked on are yielded."""
    blocked: list[str] = []
    paths = fifos(root)
    stop = threading.Event()

    def watch() -> None:
        if stop.wait(after):
            return
        while not stop.is_set():
            for path in paths:
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
                except OSError:
                    continue  # nobody is reading it
                os.close(fd)
                if path.name not in blocked:
                    blocked.append(path.name)
            stop.wait(0.2)

    thread = threading.Thread(target=watch, daemon=True)
    if paths:
        thread.start()
    try:
        yield blocked
    finally:
        stop.set()
        if paths:
            thread.join(5)


# --- the CLI, in-process --------------------------------------------------------------------------


class _Records(logging.Handler):
    """Log records of WARNING and above, as Python's last-resort handler would print them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def invoke(args: list[str | Path], fifo_root: Path) -> Outcome:
    """`hw3tui ARGS` in this process: what the user would see on stdout and stderr."""
    from hw3tui.cli import cli

    records = _Records()
    logging.getLogger().addHandler(records)
    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            fifo_watchdog(fifo_root) as blocked,
        ):
            warnings.simplefilter("always")
            result = CliRunner().invoke(cli, [str(a) for a in args])
    finally:
        logging.getLogger().removeHandler(records)
    # what Python prints for a warning or a log record nobody handles reaches the user's stderr
    extra = [f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}" for w in caught]
    stderr = result.stderr_bytes + "".join(f"{x}\n" for x in extra + records.lines).encode()
    crash = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        crash = "".join(traceback.format_exception(*result.exc_info))  # type: ignore[misc]
    return Outcome(result.exit_code, result.stdout_bytes, stderr, crash, blocked)


# --- the TUI, through Pilot -----------------------------------------------------------------------


def screen_text(app: Any) -> bytes:
    """The characters the app would draw now (styles and cursor moves left out), as UTF-8."""
    from rich.console import Console

    console = Console(
        width=app.size.width,
        height=app.size.height,
        file=io.StringIO(),
        force_terminal=True,
        color_system=None,
        record=True,
        legacy_windows=False,
    )
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    console.print(update)
    return console.export_text(styles=False).encode("utf-8", "surrogateescape")


async def settle(pilot: Any, condition: Any, timeout: float = 10.0) -> bool:
    """Let the app run until `condition()` holds or the app crashed; False on timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        if pilot.app._exception is not None or time.monotonic() > deadline:
            return False
        await pilot.pause(0.05)
    return True
