"""Starting hw3tui as a detached child that writes a run folder (the TUI's runs, sweeps)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from hw3tui.runs.folder import RunDir


def hw3tui_command() -> list[str]:
    """How to start hw3tui itself as a child process (the same Python, the same install)."""
    return [sys.executable, "-m", "hw3tui"]


def launch_detached(
    args: Sequence[str],
    run: RunDir,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `hw3tui <args>` in its own process session, output to the run's log.txt.

    The child outlives the terminal and the TUI (new session: no SIGHUP from a dropped SSH
    connection), and never writes to the TUI's screen. `env` adds to the environment (a sweep
    pins each trial's GPU with CUDA_VISIBLE_DEVICES).
    """
    run.path.mkdir(parents=True, exist_ok=True)
    with run.log_file.open("ab") as log:
        return subprocess.Popen(
            [*hw3tui_command(), *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1", "HW3TUI_DETACHED": "1"},
        )
