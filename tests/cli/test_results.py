"""`hw3tui eval` and `hw3tui predict` on tiny runs trained once for this module: what a user
sees, the files written, and exit codes; and the eval of a finished run in the TUI (`v` on its
run screen runs `hw3tui eval --json` in a child process and shows its tables)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from click.testing import CliRunner, Result
from PIL import Image
from textual.pilot import Pilot

from hw3tui.cli import cli
from hw3tui.engine.checkpoint import CheckpointInfo, load_checkpoint, write_best
from hw3tui.engine.data.datasets import decode_image
from hw3tui.runs import RunDir
from hw3tui.runs.status import Status
from hw3tui.tui.app import Hw3tuiApp
from hw3tui.tui.screens.evaluation import EvalScreen
from hw3tui.tui.screens.run import RunScreen
from tests.tiny import BACKBONE, BEST

pytestmark = pytest.mark.slow  # the module's runs are trained end to end

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
COLOURS = {"cat": 0, "dog": 1, "fox": 2, "0": 0, "1": 1, "2": 2}


def hw3tui(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def error_line(result: Result) -> str:
    """A bad-input failure: exit 2 and exactly one line on stderr, no traceback."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def status_of(run: Path) -> Status:
    status = RunDir(run).read_status()
    assert status is not None
    return status


def write_images(root: Path, classes: tuple[str, ...], per_class: int, seed: int = 7) -> Path:
    """root/<class>/<i>.png, one colour per class (as the trained `folder` run saw)."""
    for label in classes:
        for i in range(per_class):
            pixels = np.full((22, 20, 3), 50, dtype=np.uint8)
            pixels[..., COLOURS[label]] = 190
            noise = np.random.default_rng(seed * 1000 + COLOURS[label] * 100 + i)
            image = np.clip(pixels + noise.normal(0, 25, pixels.shape), 0, 255).astype(np.uint8)
            path = root / label / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(path)
    return root


def model_outputs(run_or_checkpoint: Path, files: list[Path], size: int = 32) -> torch.Tensor:
    """The checkpoint's logits for these files, computed without hw3tui's eval code: a plain
    torchvision model, the training data's decoding, ImageNet normalization."""
    state, info = load_checkpoint(run_or_checkpoint)
    model = torchvision.models.get_model(info.backbone, num_classes=len(info.classes))
    model.load_state_dict(state, strict=True)
    model.eval()
    pixels = [torch.from_numpy(decode_image(f, size).transpose(2, 0, 1).copy()) for f in files]
    batch = (torch.stack(pixels).float() / 255 - IMAGENET_MEAN) / IMAGENET_STD
    with torch.inference_mode():
        return model(batch)


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# --- eval ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["shapes", "folder"])
def test_eval_of_a_run_reproduces_the_val_acc_it_recorded(finished_runs: Any, which: str) -> None:
    run: Path = getattr(finished_runs, which)
    # started elsewhere: the folder run's relative data path resolves where the run started
    result = hw3tui("eval", run, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)

    best = status_of(run).best
    assert best["metric"] == "val_acc"
    assert report["accuracy"] == best["value"]  # exactly: same model, images, batches, device
    recorded = report["recorded"]
    assert recorded["epoch"] == best["epoch"] and recorded["val_acc"] == best["value"]
    assert report["loss"] == pytest.approx(recorded["val_loss"], rel=1e-6)
    assert report["images"] == (24 if which == "shapes" else 9)
    assert report["correct"] == round(best["value"] * report["images"])
    assert sum(map(sum, report["confusion"])) == report["images"]
    assert report["checkpoint"]["epoch"] == best["epoch"]


def test_eval_shows_tables_on_a_terminal_and_finds_a_run_by_name(finished_runs: Any) -> None:
    run: Path = finished_runs.folder
    result = hw3tui("eval", run.name, "--runs-dir", finished_runs.runs_dir)
    assert result.exit_code == 0, result.output
    out = result.stdout
    value = status_of(run).best["value"]
    assert f"accuracy {value:.4f}" in out
    assert "✓ reproduced" in out
    assert "Per class" in out and "Confusion matrix" in out and "Most frequent mistakes" in out
    for name in ("0 cat", "1 dog", "2 fox"):
        assert name in out
    # in a log or a pipe, a long path stays on its line rather than being wrapped at 80 columns
    assert re.search(rf"^checkpoint \S+{BEST}\.\* \({BACKBONE}, epoch", out, re.M)
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def test_eval_writes_a_csv_that_matches_the_json(finished_runs: Any, isolated: Path) -> None:
    result = hw3tui("eval", finished_runs.shapes, "--json", "--csv", "per-class.csv")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rows = read_csv((isolated / "per-class.csv").read_text())
    assert rows[0] == ["class", "images", "correct", "accuracy", "circle", "square", "triangle"]
    for row, per_class, confusion in zip(
        rows[1:4], report["per_class"], report["confusion"], strict=True
    ):
        assert row[0] == per_class["class"]
        assert [int(row[1]), int(row[2])] == [per_class["images"], per_class["correct"]]
        assert [int(n) for n in row[4:]] == confusion
    assert rows[4][:3] == ["all", "24", str(report["correct"])]
    assert float(rows[4][3]) == report["accuracy"]


def test_eval_on_other_labelled_images(finished_runs: Any, isolated: Path) -> None:
    write_images(isolated / "check", ("cat", "dog", "fox"), per_class=4)
    result = hw3tui("eval", finished_runs.folder, "--data", "check", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [c["images"] for c in report["per_class"]] == [4, 4, 4]
    assert report["recorded"] is None  # not the run's val set: nothing to compare with
    assert "check" in report["data"]
    logits = model_outputs(finished_runs.folder, sorted((isolated / "check").rglob("*.png")))
    labels = torch.tensor([0] * 4 + [1] * 4 + [2] * 4)
    correct = int((logits.argmax(1) == labels).sum())
    assert report["accuracy"] == pytest.approx(correct / len(labels), abs=1e-12)  # 4 of 12: 1/3

    # fewer classes than the checkpoint knows is fine: the missing one has no images
    shutil.rmtree(isolated / "check" / "fox")
    subset = json.loads(hw3tui("eval", finished_runs.folder, "--data", "check", "--json").stdout)
    assert [c["images"] for c in subset["per_class"]] == [4, 4, 0]
    assert subset["per_class"][2]["accuracy"] is None


def test_classes_that_do_not_match_the_checkpoint_are_refused(
    finished_runs: Any, isolated: Path
) -> None:
    write_images(isolated / "digits", ("0", "1", "2"), per_class=2)
    line = error_line(hw3tui("eval", finished_runs.folder, "--data", "digits"))
    assert "do not match" in line and "'0', '1', '2'" in line and "cat, dog, fox" in line
    # the built-in shapes run, checked against a folder of other classes
    line = error_line(hw3tui("eval", finished_runs.shapes, "--data", "digits"))
    assert "do not match" in line and "circle, square, triangle" in line


def test_bad_paths_and_a_run_without_a_checkpoint_exit_2(
    finished_runs: Any, isolated: Path
) -> None:
    assert "no-such-run: no such run" in error_line(hw3tui("eval", "no-such-run"))
    assert "no such file" in error_line(hw3tui("eval", isolated / "nothing" / "x.safetensors"))
    line = error_line(hw3tui("eval", finished_runs.shapes, "--data", "missing-folder"))
    assert "--data missing-folder: no such file or folder" in line
    empty = RunDir(isolated / "runs" / "empty-20260101-000000")
    empty.path.mkdir(parents=True)
    empty.write_status(Status(state="failed", started=0.0))
    assert "no best checkpoint" in error_line(hw3tui("eval", empty.path))
    unlabelled(isolated / "test", ["1.png"])
    assert "no best checkpoint" in error_line(hw3tui("predict", empty.path, "test"))
    line = error_line(hw3tui("eval", finished_runs.shapes, "--csv", isolated / "no" / "x.csv"))
    assert "no such folder" in line
    assert "--device gpu" in error_line(hw3tui("eval", finished_runs.shapes, "--device", "gpu"))
    if not torch.cuda.is_available():
        line = error_line(hw3tui("eval", finished_runs.shapes, "--device", "cuda"))
        assert "no CUDA GPU" in line and "--device cpu" in line


def test_a_shared_checkpoint_needs_data_and_knows_its_image_size(
    finished_runs: Any, isolated: Path
) -> None:
    write_images(isolated / "check", ("cat", "dog", "fox"), per_class=3)
    joined = isolated / "shared" / "model.safetensors"
    joined.parent.mkdir()
    assert hw3tui("join", finished_runs.folder, "-o", joined).exit_code == 0
    assert "needs --data" in error_line(hw3tui("eval", joined))

    by_run = json.loads(hw3tui("eval", finished_runs.folder, "--data", "check", "--json").stdout)
    alone = hw3tui("eval", joined, "--data", "check", "--json")
    assert alone.exit_code == 0, alone.output
    report = json.loads(alone.stdout)
    assert report["accuracy"] == by_run["accuracy"]
    assert report["run"] is None and report["checkpoint"]["image_size"] == 32

    # the chunks copied elsewhere, named by their prefix
    copied = shutil.copytree(finished_runs.folder / "best", isolated / "from-a-classmate")
    prefix = copied / BEST
    chunked = json.loads(hw3tui("eval", prefix, "--data", "check", "--json").stdout)
    assert chunked["accuracy"] == by_run["accuracy"]


def test_a_checkpoint_without_its_image_size_needs_the_flag(
    finished_runs: Any, isolated: Path
) -> None:
    write_images(isolated / "check", ("cat", "dog", "fox"), per_class=2)
    state, info = load_checkpoint(finished_runs.folder)
    old = CheckpointInfo(info.preset, info.backbone, info.epoch, info.metric, info.value,
                         info.classes)  # fmt: skip
    write_best(state, isolated / "old", old, chunk_mb=8)
    line = error_line(hw3tui("eval", isolated / "old", "--data", "check"))
    assert "--image-size" in line
    result = hw3tui("eval", isolated / "old", "--data", "check", "--image-size", "32", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["images"] == 6


# --- predict -------------------------------------------------------------------------------------


def unlabelled(folder: Path, names: list[str]) -> list[Path]:
    """Images of all three colours, named as given."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, name in enumerate(names):
        pixels = np.full((21, 23, 3), 50, dtype=np.uint8)
        pixels[..., i % 3] = 190
        noise = np.random.default_rng(500 + i).normal(0, 25, pixels.shape)
        path = folder / name
        Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8)).save(path)
        paths.append(path)
    return paths


def test_predict_rows_are_the_models_outputs_in_natural_order(
    finished_runs: Any, isolated: Path
) -> None:
    files = unlabelled(isolated / "test", ["10.png", "2.png", "1.png", "b20.jpg", "b3.png"])
    (isolated / "test" / "notes.txt").write_text("not an image")
    result = hw3tui("predict", finished_runs.folder, "test", "-o", "predictions.csv")
    assert result.exit_code == 0, result.output
    assert "wrote predictions.csv: 5 rows" in result.stdout
    rows = read_csv((isolated / "predictions.csv").read_text())
    assert rows[0] == ["Id", "Category"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "10", "b3", "b20"]

    by_id = {p.stem: p for p in files}
    ordered = [by_id[r[0]] for r in rows[1:]]
    expected = model_outputs(finished_runs.folder, ordered).argmax(1).tolist()
    classes = ["cat", "dog", "fox"]
    assert [r[1] for r in rows[1:]] == [classes[i] for i in expected]

    # indices and other column names; '-' writes to stdout
    result = hw3tui(
        "predict", finished_runs.folder, "test", "-o", "-", "--labels", "index",
        "--id-column", "image", "--label-column", "label",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert read_csv(result.stdout) == [["image", "label"]] + [
        [r[0], str(i)] for r, i in zip(rows[1:], expected, strict=True)
    ]


def test_predict_with_flip_tta_averages_the_softmax_of_both_views(
    finished_runs: Any, isolated: Path
) -> None:
    files = unlabelled(isolated / "test", [f"{i}.png" for i in range(6)])
    result = hw3tui("predict", finished_runs.shapes, "test", "--tta", "flip", "--labels", "index")
    assert result.exit_code == 0, result.output
    assert "flip TTA" in result.stdout
    rows = read_csv((isolated / "predictions.csv").read_text())[1:]
    plain = model_outputs(finished_runs.shapes, files).softmax(1)
    mirrored = model_outputs(finished_runs.shapes, [_mirror(f) for f in files]).softmax(1)
    assert [int(r[1]) for r in rows] == ((plain + mirrored) / 2).argmax(1).tolist()


def _mirror(path: Path) -> Path:
    mirrored = path.with_name(f"mirrored-{path.name}")
    with Image.open(path) as image:
        image.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(mirrored)
    return mirrored


def test_predict_refuses_an_unreadable_image_and_keeps_the_old_output(
    finished_runs: Any, isolated: Path
) -> None:
    unlabelled(isolated / "test", ["1.png", "2.png"])
    (isolated / "test" / "3.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (isolated / "predictions.csv").write_text("Id,Category\nold,0\n")
    line = error_line(hw3tui("predict", finished_runs.shapes, "test"))
    assert "3.jpg" in line and "cannot read image" in line
    assert (isolated / "predictions.csv").read_text() == "Id,Category\nold,0\n"
    assert [p.name for p in isolated.iterdir() if p.name.startswith(".")] == []


def test_predict_bad_folders_exit_2(finished_runs: Any, isolated: Path) -> None:
    assert "no such folder" in error_line(hw3tui("predict", finished_runs.shapes, "nowhere"))
    write_images(isolated / "labelled", ("cat", "dog"), per_class=1)
    line = error_line(hw3tui("predict", finished_runs.shapes, "labelled"))
    assert "no images" in line and "2 folders" in line
    unlabelled(isolated / "twins", ["3.png", "3.jpg"])
    assert "would both be Id '3'" in error_line(hw3tui("predict", finished_runs.shapes, "twins"))
    line = error_line(hw3tui("predict", finished_runs.shapes, "twins", "-o", "labelled"))
    assert "is a folder" in line


def test_predict_with_a_shared_checkpoint(finished_runs: Any, isolated: Path) -> None:
    files = unlabelled(isolated / "test", ["a.png", "b.png", "c.png"])
    joined = isolated / "model.safetensors"
    assert hw3tui("join", finished_runs.folder, "-o", joined).exit_code == 0
    result = hw3tui("predict", joined, "test", "-o", "out.csv")
    assert result.exit_code == 0, result.output
    rows = read_csv((isolated / "out.csv").read_text())[1:]
    expected = model_outputs(joined, files).argmax(1).tolist()
    assert [r[1] for r in rows] == [["cat", "dog", "fox"][i] for i in expected]


# --- the TUI --------------------------------------------------------------------------------------


async def wait_for(pilot: Pilot[Any], condition: Callable[[], object], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


def test_v_on_a_finished_run_shows_its_eval(finished_runs: Any) -> None:
    run = RunDir(finished_runs.folder)
    status = run.read_status()
    assert status is not None

    async def scenario() -> None:
        app = Hw3tuiApp(runs_dir=finished_runs.runs_dir, presets_dir=Path("presets"))
        async with app.run_test(size=(100, 40)) as pilot:
            app.open_run(run.path)
            await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), 10)
            screen: RunScreen = app.screen  # type: ignore[assignment]
            await wait_for(pilot, lambda: screen.history.epochs_done == 2, 10)
            await pilot.press("v")
            await wait_for(pilot, lambda: isinstance(app.screen, EvalScreen), 10)
            evaluation: EvalScreen = app.screen  # type: ignore[assignment]
            # a child process imports torch and evaluates: allow for a loaded machine
            await wait_for(pilot, lambda: evaluation.report or evaluation.problem, 120)
            assert evaluation.problem == ""
            assert evaluation.report is not None
            assert evaluation.report.accuracy == status.best["value"]
            assert evaluation.report.matches_record
            title = str(evaluation.query_one("#title").render())
            assert "best checkpoint on its val set" in title
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), 10)

    asyncio.run(scenario())
