"""The worker lock: a live sweep worker is seen by readers, and the TUI's cancel reaches it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from hw3tui.sweeps.workers import interrupt_workers, live_workers


def test_a_live_worker_is_listed_and_sigint_stops_it(
    tmp_path: Path, subprocess_env: dict[str, str], hold_sweep_worker: list[str]
) -> None:
    assert live_workers(tmp_path) == []
    child = subprocess.Popen(
        [*hold_sweep_worker, str(tmp_path)],
        stdout=subprocess.PIPE,
        env=subprocess_env,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "held"
        workers = live_workers(tmp_path)
        assert [w.pid for w in workers] == [child.pid]
        assert interrupt_workers(tmp_path) == 1
        out, _ = child.communicate(timeout=30)
        assert out.strip() == "interrupted"
    finally:
        child.kill()
        child.wait()
    assert live_workers(tmp_path) == []
    assert list((tmp_path / "workers").iterdir()) == []


def test_a_dead_workers_lock_file_is_not_live(tmp_path: Path) -> None:
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / "host-123.lock").write_text("host\n123\n")
    assert live_workers(tmp_path) == []
    assert interrupt_workers(tmp_path) == 0
