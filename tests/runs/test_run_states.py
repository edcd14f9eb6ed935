"""Run states, one type: the words in the files stay the same, and a run is stopped one way."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hw3tui.console.run_rows import RunRow, state_text
from hw3tui.runs import RunDir, RunState, list_runs
from hw3tui.runs.states import marked
from hw3tui.runs.status import Status, read_status

# holds the run's lock (as an engine does) and says whether SIGINT reached it
HOLDER = (
    "import fcntl, os, signal, sys, time\n"
    "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
    "fcntl.flock(fd, fcntl.LOCK_EX)\n"
    "signal.signal(signal.SIGINT, lambda *_: (print('interrupted', flush=True), os._exit(0)))\n"
    "print('held', flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.mark.parametrize("word", ["running", "done", "failed", "cancelled"])
def test_the_engines_states_are_written_as_the_same_words(tmp_path: Path, word: str) -> None:
    run = RunDir(tmp_path)
    run.write_status(Status(state=RunState(word), pid=7))
    assert json.loads(run.status_file.read_text())["state"] == word
    status = run.read_status()
    assert status is not None and status.state is RunState(word) and status.state == word


@pytest.mark.parametrize("word", ["paused", "killed", "stopping…", "", "unknown"])
def test_a_state_no_engine_writes_reads_unknown_with_the_word_and_is_written_back_as_it_was(
    tmp_path: Path, word: str
) -> None:
    run = RunDir(tmp_path / "runs" / "r")
    run.path.mkdir(parents=True)
    path = run.status_file
    path.write_text(json.dumps({"state": word, "pid": None, "extra_key": 1}, indent=2))
    status = read_status(path)
    assert status is not None and status.state is RunState.UNKNOWN
    (summary,) = list_runs(tmp_path / "runs")
    assert summary.state == "unknown"
    assert summary.reason == f"status.json: state {word!r} is not a run state"
    run.write_status(status)
    assert json.loads(path.read_text())["state"] == word


def test_what_each_state_means() -> None:
    live = {s for s in RunState if s.live}
    assert live == {RunState.RUNNING, RunState.STARTING, RunState.STOPPING}
    assert {s for s in RunState if s.resumable} == {"cancelled", "failed", "killed", "stopped"}
    assert not any(s.ended for s in live) and not RunState.UNKNOWN.ended
    assert {s for s in RunState if s.written} == {"running", "done", "failed", "cancelled"}
    assert f"{RunState.STOPPING}" == str(RunState.STOPPING) == "stopping…"
    assert json.dumps({"state": RunState.KILLED}) == '{"state": "killed"}'
    assert [marked(w) for w in ("pruned", "waiting", "done", "x\x1b")] == [
        "✂ pruned",
        "· waiting",
        "✓ done",
        "x\\x1b",
    ]
    row = RunRow.starting(Path("tiny-1"))
    assert state_text(row) == "● starting"


def test_interrupt_sigints_the_engine_that_holds_the_run(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "r")
    run.path.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(run.lock_file)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        run.write_status(Status(pid=holder.pid, started=time.time()))
        assert run.interrupt()
        assert holder.stdout.readline() == "interrupted\n"
        assert holder.wait(timeout=30) == 0
    finally:
        holder.kill()
        holder.wait()
    assert not run.interrupt()  # no engine holds it any more


def test_interrupt_never_signals_a_pid_whose_process_does_not_hold_the_run(
    tmp_path: Path,
) -> None:
    run = RunDir(tmp_path / "r")
    run.path.mkdir()
    other = subprocess.Popen(  # a live process, as a recycled pid would be: not the run's engine
        [sys.executable, "-c", HOLDER, str(tmp_path / "elsewhere.lock")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None and other.stdout.readline() == "held\n"
        run.write_status(Status(pid=other.pid))
        assert not run.interrupt()
        run.write_status(Status(pid=0))
        assert not run.interrupt()
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
