"""A real full disk: `hw3tui run` in a run folder on a small tmpfs, sized so that epoch 0's best/
and state/ fit and epoch 1's next write does not. Needs root (to mount); skipped elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from engine_helpers import TINY

from hw3tui.atomic import LEFTOVER
from hw3tui.cli import cli
from hw3tui.runs import RunDir

BACKBONE = "shufflenet_v2_x0_5"  # ~1.4 MB of weights: the whole test writes ~20 MB
KiB = 1024


def model_bytes() -> tuple[int, int]:
    """(the model's state_dict bytes, its parameters' bytes) for 3 classes."""
    import torchvision

    model = torchvision.models.get_model(BACKBONE, num_classes=3)
    state = sum(t.nbytes for t in model.state_dict().values())
    return state, sum(p.nbytes for p in model.parameters())


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An empty tmpfs of 64 KiB (resize it with `resize`); unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def resize(disk: Path, size: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size // KiB}k", str(disk)], check=True)


@pytest.mark.slow
def test_a_full_disk_fails_the_run_and_resume_finishes_once_there_is_room(
    small_disk: Path,
) -> None:
    state, params = model_bytes()
    # After epoch 0 the disk holds best/ (the state_dict) and state/ (the state_dict and AdamW's
    # two moments), plus small files. Epoch 1's write needs another best/ (if it improved) or
    # another state/ next to the old one until the swap: half a model of room is too little.
    held = 2 * state + 2 * params + 256 * KiB
    resize(small_disk, held + state // 2)
    runs_dir = small_disk / "runs"
    sets = ["--set", f"backbone.name={BACKBONE}", "--set", "checkpoint.chunk_mb=0.5"]

    failed = CliRunner().invoke(cli, ["run", str(TINY), "--runs-dir", str(runs_dir), *sets])

    assert failed.exit_code == 1, failed.output
    (path,) = runs_dir.iterdir()
    run = RunDir(path)
    named = {
        f"error: disk full while writing {run.best_dir}",
        f"error: disk full while writing {run.state_dir}",
    }
    (said,) = failed.stderr.splitlines()  # that one line, no traceback
    assert said in named
    status = run.read_status()
    assert status is not None and status.state == "failed" and status.epochs_done == 2
    assert f"error: {status.reason}" == said
    assert [p.name for p in run.path.rglob("*") if LEFTOVER.match(p.name)] == []
    lines = run.events_file.read_text().splitlines()
    assert json.loads(lines[-1])["type"] == "run_end"  # and every line whole
    verified = CliRunner().invoke(cli, ["verify", str(run.path)])
    assert verified.exit_code == 0, verified.output
    assert status.best["epoch"] in (0, 1)

    resize(small_disk, 64 * 1024 * KiB)
    resumed = CliRunner().invoke(cli, ["resume", run.name, "--runs-dir", str(runs_dir)])

    assert resumed.exit_code == 0, resumed.output
    assert "resuming at epoch 1" in resumed.stdout  # state/ of epoch 0 loaded
    done = run.read_status()
    assert done is not None and done.state == "done" and done.epochs_done == 2
    verified = CliRunner().invoke(cli, ["verify", str(run.path)])
    assert verified.exit_code == 0, verified.output
