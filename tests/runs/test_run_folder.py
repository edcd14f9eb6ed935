"""The run directory contract: unique names, atomic status, whole-line tails, liveness."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from hw3tui.runs import EventTail, LineTail, RunDir, RunLocked, list_runs
from hw3tui.runs.events import Best
from hw3tui.runs.status import Status

NOW = datetime(2026, 11, 27, 12, 0, 0)


def test_run_directories_get_unique_names(tmp_path: Path) -> None:
    first = RunDir.create(tmp_path / "runs", "tiny", now=NOW)
    second = RunDir.create(tmp_path / "runs", "tiny", now=NOW)
    assert first.name == "tiny-20261127-120000"
    assert second.name == "tiny-20261127-120000-2"


def test_event_tail_waits_for_whole_lines_and_restarts_on_a_new_file(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    tail = EventTail(path)
    assert tail.read() == []  # no file yet

    path.write_bytes(b'{"type": "run_start", "preset": "a"}\n{"type": "epoch_st')
    assert [e["type"] for e in tail.read()] == ["run_start"]

    with path.open("ab") as out:
        out.write(b'art", "epoch": 0}\nnot json\n{"no": "type"}\n')
    assert tail.read() == [{"type": "epoch_start", "epoch": 0}]

    path.write_bytes(b'{"type": "run_end", "state": "done"}\n')  # replaced by a shorter file
    assert [e["type"] for e in tail.read()] == ["run_end"]


def test_line_tail_starting_near_the_end_drops_the_cut_line(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_bytes(b"".join(b"line %03d\n" % i for i in range(100)))

    tail = LineTail(path, start_near_end=30)

    assert tail.read_lines() == [b"line 097", b"line 098", b"line 099"]


def test_appended_events_are_whole_lines_of_json(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "a", now=NOW)
    for epoch in range(3):
        run.append_event({"type": "epoch_end", "epoch": epoch, "val_acc": 0.5})
    lines = run.events_file.read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [0, 1, 2]


def test_a_run_is_live_only_while_its_engine_holds_the_lock(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "a", now=NOW)
    assert not run.is_live()
    with run.lock():
        assert run.is_live()
        with pytest.raises(RunLocked), run.lock():
            pass
    assert not run.is_live()


def test_a_killed_engine_shows_as_killed(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    run = RunDir.create(runs, "a", now=NOW)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "time.sleep(60)\n",
            str(run.lock_file),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        run.write_status(Status(pid=holder.pid, started=time.time()))
        (summary,) = list_runs(runs)
        assert (summary.state, summary.live) == ("running", True)
    finally:
        holder.kill()
        holder.wait()
    (summary,) = list_runs(runs)
    assert (summary.state, summary.live) == ("killed", False)


def test_status_is_replaced_whole(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, "a", now=NOW)
    run.write_status(Status())
    inode = run.status_file.stat().st_ino
    best = Best(epoch=1, metric="val_acc", value=0.5, path="best/x")
    run.write_status(Status(state="done", best=best))
    assert run.read_status() == Status(state="done", best=best)
    assert run.status_file.stat().st_ino != inode  # a new file renamed over the old one
    assert sorted(p.name for p in run.path.iterdir()) == ["status.json"]
