"""The app in a real terminal (tmux): `r` launches the tiny preset, the run screen shows its
epochs, and killing the terminal leaves the run training to the end; a copied-in run's log.txt
full of escape sequences neither retitles the terminal nor clears its screen."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hw3tui.runs import list_runs

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"
    ),
]

REPO = Path(__file__).resolve().parent.parent
TRAINING = 300.0
"""Seconds allowed for the tiny run on a busy machine (seconds when idle)."""


@pytest.fixture
def tmux(isolated: Path) -> Iterator[list[str]]:
    """`tmux` on a server of its own (never the user's), killed at the end."""
    command = ["tmux", "-L", f"hw3tui-test-{os.getpid()}", "-f", "/dev/null"]
    yield command
    subprocess.run([*command, "kill-server"], capture_output=True, check=False)


def pane_title(tmux: list[str]) -> str:
    """The title the terminal's programs set (an OSC 0 sequence that got through changes it)."""
    result = subprocess.run(
        [*tmux, "display", "-p", "-t", "app", "#{pane_title}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip()


def screen(tmux: list[str]) -> str:
    result = subprocess.run(
        [*tmux, "capture-pane", "-p", "-t", "app"], capture_output=True, text=True, check=False
    )
    return result.stdout


def wait_until(
    check: Callable[[], object], timeout: float, what: str, shown: Callable[[], str]
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; the screen:\n{shown()}")
        time.sleep(0.2)


def test_tui_in_tmux_launches_and_the_run_outlives_the_terminal(
    tmux: list[str], isolated: Path, subprocess_env: dict[str, str], tiny_preset: Path
) -> None:
    (isolated / "presets").mkdir()
    shutil.copy(tiny_preset, isolated / "presets" / "tiny.yaml")
    env = {**subprocess_env, "TERM": "xterm-256color"}
    app = f"cd {isolated} && exec {sys.executable} -m hw3tui"
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "app", "-x", "100", "-y", "30", app],
        env=env,
        check=True,
    )
    shown = lambda: screen(tmux)  # noqa: E731
    wait_until(lambda: "tiny" in shown() and "Quit" in shown(), 60, "the home screen", shown)
    subprocess.run([*tmux, "send-keys", "-t", "app", "r"], check=True)

    epoch = re.compile(r"epoch \d+ \(\d+ of 2\)")
    wait_until(lambda: epoch.search(shown()), TRAINING, "epoch numbers on the run screen", shown)
    assert "tiny-" in shown() and "log.txt" in shown()

    # the terminal goes away (as with a dropped SSH connection); the run must not
    subprocess.run([*tmux, "kill-server"], check=True)
    runs = isolated / "runs"
    wait_until(
        lambda: any(r.state in ("done", "failed", "cancelled", "killed") for r in list_runs(runs)),
        TRAINING,
        "the run to end",
        lambda: "\n".join(f"{r.name}: {r.state}" for r in list_runs(runs)),
    )
    (finished,) = list_runs(runs)
    assert finished.state == "done", (finished.path / "log.txt").read_text()
    assert finished.epochs_done == 2


HOSTILE_LOG = (
    b"first line\n"
    b"\x1b]0;PWNED-TITLE\x07 title\n"
    b"\x1b[2J cleared\n"
    b"\x1b]52;c;aGk=\x07 clipboard\n"
    b"\xc2\x9b31m c1 csi\n"
)
"""Retitle the terminal, clear it, write the clipboard, a C1 CSI (U+009B as UTF-8)."""


def test_a_hostile_log_neither_retitles_nor_clears_the_terminal(
    tmux: list[str], isolated: Path, subprocess_env: dict[str, str]
) -> None:
    from hw3tui.runs import RunDir
    from hw3tui.runs.status import Status

    run = RunDir(isolated / "runs" / "copied-20260101-000000")
    run.path.mkdir(parents=True)
    run.write_status(Status(state="done", started=1_767_225_600.0, ended=1_767_225_700.0))
    run.log_file.write_bytes(HOSTILE_LOG)
    env = {**subprocess_env, "TERM": "xterm-256color"}
    app = f"cd {isolated} && exec {sys.executable} -m hw3tui"
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "app", "-x", "100", "-y", "30", app],
        env=env,
        check=True,
    )
    shown = lambda: screen(tmux)  # noqa: E731
    wait_until(lambda: "copied-" in shown() and "Quit" in shown(), 60, "the home screen", shown)
    title = pane_title(tmux)
    subprocess.run([*tmux, "send-keys", "-t", "app", "Tab", "Enter"], check=True)
    wait_until(lambda: "clipboard" in shown(), 60, "the run screen's log tail", shown)
    # what the app draws after the log arrives: the screen holds it all, nothing was cleared
    wait_until(lambda: "c1 csi" in shown(), 10, "the last log line", shown)
    text = shown()
    assert pane_title(tmux) == title != "PWNED-TITLE"
    assert r"\x1b]0;PWNED-TITLE\x07 title" in text
    assert r"\x1b[2J cleared" in text and r"\x9b31m c1 csi" in text
    assert "copied-20260101-000000" in text and "Progress" in text and "log.txt" in text, text
