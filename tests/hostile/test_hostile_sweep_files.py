"""`hw3tui sweep` on every hostile sweep file of the corpus (issue 20), in a child process with a
timeout: a grid that takes minutes to enqueue or a base preset that is a FIFO fails the test
instead of hanging it.

Test ids read `test_sweep_file[CASE-COMMAND]`; the case's `item` in hostile_corpus.py is the hole
of issue 20 whose fix makes it pass.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_check import Outcome, assert_clean, assert_files_clean
from hostile_corpus import SWEEP_CASES, sweep_file

REPO = Path(__file__).resolve().parent.parent.parent
TINY = REPO / "tests" / "data" / "tiny.yaml"
REFUSED_SECONDS = 30
"""A refusal needs no trial: seconds, even on a busy machine."""
TRIAL_SECONDS = 120
"""One trial that fails at once (no such folder) took 12 s here."""


def hw3tui(args: list[str | Path], env: dict[str, str], timeout: float) -> Outcome:
    """`python -m hw3tui ARGS` in its own process group, killed whole after `timeout` s."""
    child = subprocess.Popen(
        [sys.executable, "-m", "hw3tui", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    try:
        stdout, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        stdout, stderr = child.communicate()
        return Outcome(-1, stdout, stderr, blocked=[f"still running after {timeout} s"])
    return Outcome(child.returncode, stdout, stderr)


@pytest.mark.parametrize("command", ["print-commands", "sweep"])
@pytest.mark.parametrize("key", list(SWEEP_CASES))
def test_sweep_file(key: str, command: str, isolated: Path, subprocess_env: dict[str, str]) -> None:
    case = SWEEP_CASES[key]
    where = f"hw3tui sweep ({command}) on {key} (issue 20 item {case.item})"
    path = sweep_file(isolated, key, TINY)
    folder = isolated / "sweeps" / "s"
    args: list[str | Path] = [
        "sweep",
        path,
        *(["--print-commands"] if command == "print-commands" else ["--sweep-dir", folder]),
    ]
    timeout = REFUSED_SECONDS if case.refused or command == "print-commands" else TRIAL_SECONDS
    outcome = hw3tui(args, subprocess_env, timeout)
    assert not outcome.blocked, f"{where}: {outcome.blocked[0]}\n{outcome.shown()}"
    assert_clean(outcome, where)
    if folder.is_dir():
        assert_files_clean(folder)
    if case.refused:
        assert outcome.exit_code == 2, f"{where}: expected exit 2\n{outcome.shown()}"
        error = outcome.stderr.decode(errors="replace")
        assert "sweep.yaml" in error, f"{where}: the error names no file\n{outcome.shown()}"
        for name in case.names:
            assert name in error, f"{where}: the error does not name {name}\n{outcome.shown()}"
        assert not folder.exists(), f"{where}: refused, yet {folder} was created"
    elif case.refused is False:
        assert outcome.exit_code == 0, f"{where}: expected exit 0\n{outcome.shown()}"
