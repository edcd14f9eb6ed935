"""The journal's write lock left by a worker killed in the middle of a write (kill -9, a reboot)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# run from the folder that holds the sweep folder `k`, named relatively as `--sweep-dir k` does
KILLED_WRITER = """
import os, signal
from pathlib import Path
from hw3tui.sweeps.storage import journal_storage
storage = journal_storage(Path("k", "optuna.journal"))
storage._backend._lock.acquire()  # the write lock Optuna takes around each append
os.kill(os.getpid(), signal.SIGKILL)
"""

NEXT_WRITER = """
from pathlib import Path
import optuna
from hw3tui.sweeps import storage
storage.JOURNAL_GRACE_S = 3
optuna.create_study(study_name="s", storage=storage.journal_storage(Path("k", "optuna.journal")))
print(optuna.get_all_study_names(storage.journal_storage(Path("k", "optuna.journal"))))
"""


def python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,  # before the fix the next writer spun for ever
    )


def test_a_lock_left_by_a_killed_worker_is_taken_over_after_the_grace_period(
    tmp_path: Path,
) -> None:
    (tmp_path / "k").mkdir()
    killed = python(KILLED_WRITER, tmp_path)
    assert killed.returncode == -9, killed.stderr
    assert (tmp_path / "k" / "optuna.journal.lock").is_symlink()  # left behind

    after = python(NEXT_WRITER, tmp_path)

    assert after.returncode == 0, after.stderr
    assert after.stdout.strip() == "['s']"
    assert not (tmp_path / "k" / "optuna.journal.lock").is_symlink()


@pytest.mark.parametrize(
    "mtime",
    [time.time() - 3600, time.time() + 10 * 365 * 86400],
    ids=["an hour old", "ten years ahead"],
)
def test_a_lock_pointing_nowhere_from_another_machine_is_broken_after_the_grace_period(
    tmp_path: Path, mtime: float
) -> None:
    # a classmate's sweep folder, copied with the lock their killed worker left: the link names
    # their absolute path, which does not exist here (and their clock may be anywhere)
    (tmp_path / "k").mkdir()
    lock = tmp_path / "k" / "optuna.journal.lock"
    lock.symlink_to("/home/classmate/sweeps/k/optuna.journal")
    os.utime(lock, (mtime, mtime), follow_symlinks=False)

    after = python(NEXT_WRITER, tmp_path)

    assert after.returncode == 0, after.stderr
    assert after.stdout.strip() == "['s']"
    assert not lock.is_symlink()
