"""`hw3tui run` end to end on tiny data: what a user sees and what lands on disk."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch
import torchvision
from click.testing import CliRunner, Result
from PIL import Image

from hw3tui.cli import cli
from hw3tui.engine.checkpoint import load_checkpoint
from hw3tui.runs import RunDir
from hw3tui.runs.header import strip_result
from hw3tui.runs.status import Status
from tests.tiny import BACKBONE, BEST

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "tests" / "data" / "tiny.yaml")
EPOCH_LINE = "epoch "
HW3TUI = [sys.executable, "-m", "hw3tui"]


def hw3tui(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def only_run(runs: Path = Path("runs")) -> RunDir:
    found = sorted(p for p in runs.iterdir() if p.is_dir())
    assert len(found) == 1, found
    return RunDir(found[0])


def write_images(root: Path, layout: str, classes: tuple[str, ...] = ("0", "1", "2")) -> None:
    """Tiny coloured images, one colour per class: `folder` (root/c/i.png) or `flat` (c_i.png)."""
    for c, label in enumerate(classes):
        for i in range(5):
            rng = np.random.default_rng(c * 100 + i)
            pixels = np.full((20, 24, 3), 40, dtype=np.uint8)
            pixels[..., c % 3] = 200
            pixels = np.clip(pixels + rng.normal(0, 10, pixels.shape), 0, 255).astype(np.uint8)
            path = root / label / f"{i}.png" if layout == "folder" else root / f"{label}_{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(path)


@pytest.mark.slow
def test_a_run_writes_its_directory_and_prints_a_line_per_epoch() -> None:
    result = hw3tui("run", TINY, "--set", "schedule.epochs=3")
    assert result.exit_code == 0, result.output
    run = only_run()
    assert run.name.startswith("tiny-")

    # the frozen preset is the file as run: comments kept, the override applied (below the
    # result header added when the run ended)
    frozen = strip_result(run.preset_file.read_text())
    assert frozen.startswith("# A preset that trains in seconds")
    assert "epochs: 3" in frozen

    events = run.events()
    kinds = [e["type"] for e in events]
    assert kinds[0] == "run_start" and kinds[-1] == "run_end"
    assert kinds.count("epoch_start") == kinds.count("epoch_end") == 3
    start = events[0]
    assert start["preset"] == "tiny" and start["device"] == "cpu"
    assert start["classes"] == ["circle", "square", "triangle"] and start["num_classes"] == 3
    assert start["images"] == {"train": 48, "val": 24} and start["cache_mb"] > 0
    assert start["run"] == run.name and start["epochs"] == 3
    ends = [e for e in events if e["type"] == "epoch_end"]
    assert [e["epoch"] for e in ends] == [0, 1, 2]
    ticks = [e["time"] for e in events if e["type"] == "progress"]
    assert all(b - a >= 0.45 for a, b in itertools.pairwise(ticks))  # throttled

    status = run.read_status()
    assert status is not None
    assert status.state == "done" and status.epochs_done == 3 and status.epochs == 3
    assert status.preset == "tiny" and status.pid > 0 and status.device == "cpu"
    assert status.ended >= status.started
    assert status.cwd == str(Path.cwd().resolve())
    assert status.version and isinstance(status.argv, list)

    # the best checkpoint is the epoch with the best val accuracy
    accuracies = [e["val_acc"] for e in ends]
    best_epoch = accuracies.index(max(accuracies))
    assert status.best["epoch"] == best_epoch
    assert status.best["value"] == max(accuracies)
    assert status.best["path"] == f"best/{BEST}"
    _, info = load_checkpoint(run.path)
    assert (info.epoch, info.value, info.classes) == (best_epoch, max(accuracies), start["classes"])

    # the headless output: one line per epoch, no carriage returns
    assert "\r" not in result.output
    lines = result.output.splitlines()
    assert sum(line.startswith(EPOCH_LINE) for line in lines) == 3
    assert lines[-2].startswith("done: finished 3 epochs")


@pytest.mark.slow
def test_the_joined_best_checkpoint_loads_strictly_into_plain_torchvision() -> None:
    result = hw3tui("run", TINY, "--set", "schedule.epochs=1")
    assert result.exit_code == 0
    assert "done: finished 1 epoch ·" in result.output
    best = only_run().best_dir
    chunks = sorted(best.glob(f"{BEST}.[0-9][0-9][0-9]"))
    assert len(chunks) > 1  # tiny.yaml cuts at 8 MiB
    joined = best.parent / "joined.safetensors"
    joined.write_bytes(b"".join(chunk.read_bytes() for chunk in chunks))  # what `cat` does
    model = torchvision.models.get_model(BACKBONE, num_classes=3)
    model.load_state_dict(safetensors.torch.load_file(str(joined)), strict=True)


@pytest.mark.slow
def test_schedules_are_recorded_per_epoch() -> None:
    result = hw3tui(
        "run",
        TINY,
        "--set",
        "schedule.epochs=3",
        "--set",
        "schedule.lr=[0.002, 0.001, 0.0005]",
        "--set",
        "schedule.batch_size={0: 16, 2: 8}",
        "--set",
        "schedule.weight_decay={linear: {start: 0.0, end: 0.01}}",
    )
    assert result.exit_code == 0, result.output
    starts = [e for e in only_run().events() if e["type"] == "epoch_start"]
    assert [(e["lr"], e["batch_size"], e["weight_decay"]) for e in starts] == [
        (0.002, 16, 0.0),
        (0.001, 16, 0.005),
        (0.0005, 8, 0.01),
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("source", "layout", "settings"),
    [
        ("imagefolder", "folder", ["data.train=imgs/train", "data.val=imgs/val"]),
        ("imagefolder", "folder", ["data.train=imgs/train", "data.val_split=0.4"]),
        ("filenames", "flat", ["data.train=imgs/train", "data.val=imgs/val"]),
        ("csv", "folder", ["data.train=imgs/train.csv", "data.val=imgs/val.csv"]),
        (
            "imagefolder",
            "folder",
            ["data.train=imgs/train", "data.val=imgs/val", "data.cache=false", "data.workers=1"],
        ),
    ],
    ids=["imagefolder", "imagefolder-split", "filenames", "csv", "streamed"],
)
def test_each_data_source_trains_end_to_end(source: str, layout: str, settings: list[str]) -> None:
    write_images(Path("imgs/train"), layout)
    write_images(Path("imgs/val"), layout)
    for split in ("train", "val"):
        rows = ["path,label"] + [
            f"{split}/{p.relative_to(Path('imgs') / split)},{p.parent.name}"
            for p in sorted((Path("imgs") / split).rglob("*.png"))
        ]
        Path(f"imgs/{split}.csv").write_text("\n".join(rows) + "\n")
    args = ["run", TINY, "--set", f"data.source={source}", "--set", "schedule.epochs=2"]
    for setting in settings:
        args += ["--set", setting]
    result = hw3tui(*args)
    assert result.exit_code == 0, result.output
    run = only_run()
    start = run.events()[0]
    assert start["classes"] == ["0", "1", "2"]
    expected_val = 6 if "data.val_split=0.4" in settings else 15
    assert start["images"]["val"] == expected_val
    assert start["images"]["train"] == (9 if expected_val == 6 else 15)
    assert (start["cache_mb"] == 0) is ("data.cache=false" in settings)
    status = run.read_status()
    assert status is not None and status.state == "done"


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (lambda: None, "data.train: no such folder"),
        (lambda: Path("imgs/train/0").mkdir(parents=True), "class '0' has no images"),
        (
            lambda: (
                write_images(Path("imgs/train"), "folder"),
                Path("imgs/train/1/x.png").write_text("no"),
            ),
            "cannot read image",
        ),
    ],
    ids=["missing", "empty-class", "unreadable"],
)
def test_bad_data_exits_2_before_anything_is_written(prepare: object, message: str) -> None:
    prepare()  # type: ignore[operator]
    result = hw3tui(
        "run", TINY, "--set", "data.source=imagefolder", "--set", "data.train=imgs/train"
    )
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("error:")]) == 1
    assert not Path("runs").exists() or not any(Path("runs").iterdir())


def test_different_classes_in_train_and_val_exit_2() -> None:
    write_images(Path("imgs/train"), "folder", ("0", "1", "2"))
    write_images(Path("imgs/val"), "folder", ("0", "1", "3"))
    result = hw3tui(
        "run",
        TINY,
        "--set",
        "data.source=imagefolder",
        "--set",
        "data.train=imgs/train",
        "--set",
        "data.val=imgs/val",
    )
    assert result.exit_code == 2
    assert "only in train: 2; only in val: 3" in result.output


def test_a_bad_preset_exits_2() -> None:
    result = hw3tui("run", TINY, "--set", "schedule.epochs=0")
    assert result.exit_code == 2
    assert "schedule.epochs" in result.output


def test_run_dir_made_by_a_launcher_is_marked_failed_on_bad_data() -> None:
    launched = Path("runs/launched")
    launched.mkdir(parents=True)
    (launched / "log.txt").write_text("")
    result = hw3tui(
        "run",
        TINY,
        "--run-dir",
        str(launched),
        "--set",
        "data.source=csv",
        "--set",
        "data.train=x.csv",
    )
    assert result.exit_code == 2
    status = RunDir(launched).read_status()
    assert status is not None and status.state == "failed"
    assert "no such CSV file" in status.reason
    assert RunDir(launched).events()[-1]["type"] == "run_end"


def test_new_run_dir_is_removed_on_bad_data() -> None:
    result = hw3tui(
        "run",
        TINY,
        "--run-dir",
        "runs/new",
        "--set",
        "data.source=csv",
        "--set",
        "data.train=x.csv",
    )
    assert result.exit_code == 2
    assert not Path("runs/new").exists()


def test_run_dir_holding_another_run_is_refused() -> None:
    other = RunDir(Path("runs/other"))
    other.path.mkdir(parents=True)
    other.write_status(Status(state="done"))
    result = hw3tui("run", TINY, "--run-dir", "runs/other")
    assert result.exit_code == 2
    assert "already holds a run" in result.output


@pytest.mark.slow
def test_run_dir_with_a_launcher_log_trains_there() -> None:
    launched = Path("runs/launched")
    launched.mkdir(parents=True)
    (launched / "log.txt").write_text("started by the TUI\n")
    result = hw3tui("run", TINY, "--run-dir", str(launched), "--set", "schedule.epochs=1")
    assert result.exit_code == 0, result.output
    assert (launched / "log.txt").read_text() == "started by the TUI\n"
    status = RunDir(launched).read_status()
    assert status is not None and status.state == "done"


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_pretrained_weights_from_a_file(suffix: str) -> None:
    torch.manual_seed(5)
    state = torchvision.models.resnet18(num_classes=10).state_dict()
    if suffix == ".safetensors":
        safetensors.torch.save_file(state, f"mine{suffix}")
    else:
        torch.save(state, f"mine{suffix}")
    result = hw3tui(
        "run",
        TINY,
        "--set",
        "backbone.name=resnet18",  # its layer names below
        "--set",
        f"backbone.pretrained=mine{suffix}",
        "--set",
        "schedule.epochs=1",
        "--set",
        "schedule.lr=1.0e-12",  # keep the loaded weights (almost) as they were
    )
    assert result.exit_code == 0, result.output
    run = only_run()
    assert run.events()[0]["pretrained"] == f"mine{suffix}"
    trained, _ = load_checkpoint(run.path)
    assert torch.allclose(trained["conv1.weight"], state["conv1.weight"], atol=1e-6)
    assert trained["fc.weight"].shape == (3, 512)


def test_pretrained_offline_names_the_file_to_place(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    result = hw3tui("run", TINY, "--set", "backbone.pretrained=true")
    assert result.exit_code == 2
    weights = torchvision.models.get_model_weights(BACKBONE).DEFAULT.url.rsplit("/", 1)[-1]
    assert weights in result.output  # mobilenet_v3_small-047dcff4.pth
    assert str(Path(os.environ["TORCH_HOME"]) / "hub" / "checkpoints") in result.output
    assert "pretrained: path/to/weights" in result.output
    assert not Path("runs").exists()


def wait_for(path: Path, predicate: object, timeout: float = 240.0) -> list[dict[str, object]]:
    """Poll an events file until `predicate(events)` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = []
        if path.exists():
            events = [json.loads(line) for line in path.read_text().splitlines() if line]
        if predicate(events):  # type: ignore[operator]
            return events
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting on {path}")


@pytest.mark.slow
def test_sigint_cancels_after_the_batch_saves_state_and_exits_130(
    subprocess_env: dict[str, str],
) -> None:
    run = RunDir(Path("runs/interrupted"))
    child = subprocess.Popen(
        [*HW3TUI, "run", TINY, "--run-dir", str(run.path), "--set", "schedule.epochs=40"],
        env=subprocess_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(run.events_file, lambda events: any(e["type"] == "epoch_end" for e in events))
        child.send_signal(signal.SIGINT)
        output, _ = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, output.decode()
    status = run.read_status()
    assert status is not None and status.state == "cancelled"
    end = run.events()[-1]
    assert end["type"] == "run_end" and end["state"] == "cancelled"
    assert "SIGINT" in end["reason"]
    _, info = load_checkpoint(run.path)  # a valid, checksummed best checkpoint
    assert info.epoch == status.best["epoch"]
    assert (run.state_dir / "state.json").is_file()
    assert not run.is_live()
    assert b"\r" not in output and b"hw3tui resume" in output
