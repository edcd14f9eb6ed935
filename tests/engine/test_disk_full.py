"""A full disk (ENOSPC) at any write of a run ends it `failed` with the path named, keeps the
previous best/ and state/, leaves no half-written file, and the run resumes once there is room.

The faults are injected (these tests run anywhere); tests/engine/test_disk_full_tmpfs.py fills a
real disk where the tests run as root."""

from __future__ import annotations

import errno
import json
import os
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from engine_helpers import TINY, TinyNet

import hw3tui.engine.checkpoint
import hw3tui.engine.training.session
import hw3tui.engine.training.state
import hw3tui.runs.folder
import hw3tui.runs.status
from hw3tui.atomic import LEFTOVER, DiskFull, open_atomic
from hw3tui.cli import cli
from hw3tui.engine.checkpoint import load_checkpoint
from hw3tui.engine.training.job import Setup, make_job, prepare
from hw3tui.engine.training.loop import Job, Outcome
from hw3tui.engine.training.session import train
from hw3tui.engine.training.state import load_state
from hw3tui.preset import load_preset
from hw3tui.runs import RunDir, summarize
from hw3tui.runs.events import Event
from hw3tui.runs.status import Status

# TinyNet learns enough in 3 epochs at this lr for a new best at epochs 0 and 1
OVERRIDES = ["schedule.epochs=3", "schedule.lr=0.01", "checkpoint.monitor=val_acc"]


def full(*_: Any) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def tiny_setup(tmp_path: Path) -> Setup:
    setup = prepare(load_preset(TINY, OVERRIDES), base_dir=tmp_path)
    setup.module = TinyNet()
    return setup


def start(tmp_path: Path, console: Callable[[Event], None] | None = None) -> tuple[RunDir, Outcome]:
    setup = tiny_setup(tmp_path)
    run = RunDir.create(tmp_path / "runs", "tiny")
    status = Status(state="running", pid=os.getpid(), started=0.0)
    return run, train(make_job(setup), setup, run, status, console)


def resumed_job(tmp_path: Path, run: RunDir) -> tuple[Job, Setup]:
    """What `hw3tui resume` builds (with TinyNet in place of the preset's model)."""
    setup = tiny_setup(tmp_path)
    job = make_job(setup)
    load_state(job, run.state_dir)
    return job, setup


def leftovers(run: RunDir) -> list[str]:
    return [p.name for p in run.path.rglob("*") if LEFTOVER.match(p.name)]


def event_lines(run: RunDir) -> list[dict[str, Any]]:
    """Every line of events.jsonl, parsed: a half-written line fails here."""
    return [json.loads(line) for line in run.events_file.read_text().splitlines()]


# --- the faults: each fills the disk at one write of epoch 1, then frees it ------------------


def fail_second_checkpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second best/ (epoch 1) fills the disk after its first bytes."""
    real = hw3tui.engine.checkpoint.write_stream
    calls = 0

    def write_stream(pieces: Iterator[bytes], *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls != 2:
            return real(pieces, *args, **kwargs)

        def filling() -> Iterator[bytes]:
            yield next(iter(pieces))
            raise full()

        return real(filling(), *args, **kwargs)

    monkeypatch.setattr(hw3tui.engine.checkpoint, "write_stream", write_stream)


def fail_second_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second state/ (epoch 1) fills the disk at optimizer.safetensors, after model's."""
    real = hw3tui.engine.training.state.write_safetensors
    calls = 0

    def write_safetensors(tensors: Any, path: Path, *args: Any) -> None:
        nonlocal calls
        calls += 1
        real(tensors, path, *args)
        if calls == 5:  # model, optimizer, rng per save: the second save's optimizer
            raise full()

    monkeypatch.setattr(hw3tui.engine.training.state, "write_safetensors", write_safetensors)


def os_writing(fills: Callable[[bytes], bool], *, half: bool = False) -> types.ModuleType:
    """`os` whose write(2) meets a full disk for the data `fills` picks: ENOSPC, or, with
    `half`, a short write of half the bytes (as write(2) does on a disk that fills part way)."""
    fake_os = types.ModuleType("os")
    fake_os.__dict__.update(os.__dict__)

    def write(fd: int, data: bytes) -> int:
        if not fills(bytes(data)):
            return os.write(fd, data)
        if half:
            return os.write(fd, bytes(data)[: len(data) // 2])
        raise full()

    fake_os.write = write  # type: ignore[attr-defined]
    return fake_os


def fail_epoch_end_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """Epoch 1's epoch_end line fits only in half."""
    fills = lambda data: b'"type":"epoch_end"' in data and b'"epoch":1,' in data  # noqa: E731
    monkeypatch.setattr(hw3tui.runs.folder, "os", os_writing(fills, half=True))


def fail_status_after_epoch_1(monkeypatch: pytest.MonkeyPatch) -> None:
    """status.json after epoch 1 fills the disk part way through its partial file."""
    real = hw3tui.runs.status.write_text_atomic

    def write_text_atomic(path: Path, text: str) -> None:
        if json.loads(text).get("epochs_done") == 2 and json.loads(text)["state"] == "running":
            with open_atomic(path) as out:
                out.write(text[:10].encode())
                raise full()
        real(path, text)

    monkeypatch.setattr(hw3tui.runs.status, "write_text_atomic", write_text_atomic)


FAULTS = {
    # fault, the path named (relative to the run), best epoch kept, epoch the state resumes at
    "checkpoint": (fail_second_checkpoint, "best", 0, 1),
    "state": (fail_second_state, "state", 1, 1),
    "events": (fail_epoch_end_event, "events.jsonl", 0, 1),
    "status": (fail_status_after_epoch_1, "status.json", 0, 1),
}


@pytest.mark.slow
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_full_disk_fails_the_run_and_keeps_best_and_state(
    fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inject, written, best_epoch, resume_epoch = FAULTS[fault]
    with monkeypatch.context() as patch:
        inject(patch)
        run, outcome = start(tmp_path)

    reason = f"disk full while writing {run.path / written}"
    assert (outcome.state, outcome.reason, outcome.detail) == ("failed", reason, "")
    status = run.read_status()
    assert status is not None and (status.state, status.reason) == ("failed", reason)
    events = event_lines(run)
    assert events[-1]["type"] == "run_end" and events[-1]["reason"] == reason
    assert leftovers(run) == []
    verified = CliRunner().invoke(cli, ["verify", str(run.path)])
    assert verified.exit_code == 0, verified.output
    assert load_checkpoint(run.path)[1].epoch == best_epoch

    job, setup = resumed_job(tmp_path, run)
    assert job.state.epoch == resume_epoch
    again = train(job, setup, run, status, console=None, resumed=True)
    assert again.state == "done"
    assert getattr(run.read_status(), "state", None) == "done"
    assert [e["epoch"] for e in event_lines(run) if e["type"] == "epoch_end"][-1] == 2


@pytest.mark.slow
def test_when_even_the_end_does_not_fit_the_run_is_left_killed_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last epoch trained and saved, then the disk stayed full: run_end and the final status
    cannot be written. The run exits failed, shows as killed, and resume records it done."""
    heard: list[Event] = []
    with monkeypatch.context() as patch:
        patch.setattr(
            hw3tui.runs.folder, "os", os_writing(lambda data: b'"type":"run_end"' in data)
        )
        run, outcome = start(tmp_path, console=heard.append)

    assert (outcome.state, outcome.reason) == (
        "failed",
        f"disk full while writing {run.events_file}",
    )
    assert heard[-1]["type"] == "run_end" and heard[-1]["state"] == "done"
    summary = summarize(run)
    assert summary is not None and summary.state == "killed"  # running, but no engine holds it
    assert leftovers(run) == []

    job, setup = resumed_job(tmp_path, run)
    assert job.state.epoch == 3
    status = run.read_status()
    assert status is not None
    again = train(job, setup, run, status, console=None, resumed=True)
    assert again.state == "done"
    assert getattr(run.read_status(), "state", None) == "done"
    assert event_lines(run)[-1]["type"] == "run_end"


def test_a_disk_full_before_training_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def write_text_atomic(path: Path, text: str) -> None:
        raise DiskFull(path, full())

    monkeypatch.setattr(hw3tui.engine.training.session, "write_text_atomic", write_text_atomic)
    result = CliRunner().invoke(cli, ["run", str(TINY), "--runs-dir", str(tmp_path / "runs")])

    assert result.exit_code == 1, result.output
    (run,) = (tmp_path / "runs").iterdir()
    assert result.stderr.splitlines() == [f"error: disk full while writing {run / 'preset.yaml'}"]
