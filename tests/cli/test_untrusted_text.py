"""Strings other people chose (checkpoint metadata, data set folder and file names) never reach
a terminal or a CSV raw: a hostile checkpoint is refused in one escaped line, a class folder
with an escape sequence is refused at loading, and a run folder or image file named with one is
shown escaped everywhere."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image
from safetensors.numpy import save_file

from hw3tui.cli import cli
from hw3tui.runs import RunDir

OSC_TITLE = "\x1b]0;PWNED-TITLE\x07"
"""Sets the terminal's window title (OSC 52 would write the clipboard the same way)."""
CSI_CLEAR = "\x1b[2J"
RAW = ("\x1b", "\x07", "\x9b", "\x7f")


def hw3tui(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def assert_no_raw(*texts: str) -> None:
    for text in texts:
        assert not any(raw in text for raw in RAW), repr(text)


def one_error_line(result: Result) -> str:
    """Exit 2, one line on stderr, nothing raw anywhere."""
    assert result.exit_code == 2, result.output
    assert_no_raw(result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def metadata(**changes: str) -> dict[str, str]:
    """An hw3tui checkpoint's metadata (two classes, resnet18 at 32 px), with `changes`."""
    return {
        "format": "pt",
        "hw3tui_version": "0.1.0",
        "preset": "tiny",
        "backbone": "resnet18",
        "epoch": "1",
        "metric": "val_acc",
        "value": "0.5",
        "classes": json.dumps(["cat", "dog"]),
        "image_size": "32",
        **changes,
    }


def write_checkpoint(path: Path, meta: dict[str, str]) -> Path:
    """A joined .safetensors file written with safetensors itself, as anyone could."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"weight": np.zeros((2, 2), dtype=np.float32)}, str(path), metadata=meta)
    return path


def write_chunked(folder: Path, meta: dict[str, str]) -> Path:
    """The same as one chunk and its SHA256SUMS, as a shared best/ folder holds it."""
    joined = write_checkpoint(folder / "model.safetensors", meta)
    data = joined.read_bytes()
    joined.rename(folder / "model.safetensors.000")
    digest = hashlib.sha256(data).hexdigest()
    sums = f"{digest}  model.safetensors.000\n{digest}  model.safetensors\n"
    (folder / "SHA256SUMS").write_text(sums)
    return folder


def write_images(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        pixels = np.full((20, 20, 3), 40 + 60 * (i % 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / name)
    return folder


# --- a hostile checkpoint -------------------------------------------------------------------------

HOSTILE = {
    "class name (raw OSC)": (
        "classes",
        {"classes": json.dumps([OSC_TITLE + "cat", "dog"], ensure_ascii=False)},
    ),
    "class name (JSON-escaped OSC)": (
        "classes",
        {"classes": json.dumps(["cat", OSC_TITLE + "dog"], ensure_ascii=True)},
    ),
    "backbone (CSI)": ("backbone", {"backbone": "resnet18" + CSI_CLEAR}),
    "preset (C1 CSI)": ("preset", {"preset": "tiny\x9b31m"}),
    "metric (DEL)": ("metric", {"metric": "val_acc\x7f"}),
}


@pytest.mark.parametrize("field, changes", HOSTILE.values(), ids=list(HOSTILE))
@pytest.mark.parametrize("command", ["eval", "predict", "verify", "join"])
def test_a_checkpoint_with_control_characters_in_its_metadata_is_refused(
    isolated: Path, command: str, field: str, changes: dict[str, str]
) -> None:
    # the folder's name is someone else's too
    folder = write_chunked(isolated / ("from-a-classmate" + CSI_CLEAR), metadata(**changes))
    write_images(isolated / "images" / "cat", ["1.png"])
    write_images(isolated / "images" / "dog", ["2.png"])
    args: dict[str, list[str | Path]] = {
        "eval": ["eval", folder, "--data", "images"],
        "predict": ["predict", folder, "images/cat", "-o", "out.csv"],
        "verify": ["verify", folder],
        "join": ["join", folder, "-o", "joined.safetensors"],
    }
    result = hw3tui(*args[command])
    refused = f"metadata '{field}' holds a control character"
    where = r"from-a-classmate\x1b[2J/model.safetensors"
    if command in ("verify", "join"):  # their way: the problems, then a verdict naming the file
        assert result.exit_code == 2, result.output
        assert_no_raw(result.stdout, result.stderr)
        problem, verdict = result.stderr.strip().splitlines()
        assert problem.startswith("error: ") and refused in problem
        assert where in verdict and verdict.endswith(("does not verify", "not joined"))
    else:
        line = one_error_line(result)
        assert where in line and refused in line
    assert not (isolated / "out.csv").exists()
    assert not (isolated / "joined.safetensors").exists()


def test_a_checkpoint_with_plain_text_metadata_gets_past_the_header_check(isolated: Path) -> None:
    """The control: the same checkpoint without control characters verifies."""
    folder = write_chunked(isolated / "from-a-classmate", metadata())
    result = hw3tui("verify", folder)
    assert result.exit_code == 0, result.output
    assert "resnet18, epoch 1, val_acc 0.5, 2 classes" in result.stdout


# --- class names from a data set ------------------------------------------------------------------


@pytest.mark.parametrize("source", ["imagefolder", "csv"])
def test_a_class_name_with_an_escape_sequence_is_refused_at_loading(
    isolated: Path, tiny_preset: Path, source: str
) -> None:
    hostile = "dog" + OSC_TITLE
    write_images(isolated / "data" / "cat", ["1.png", "2.png"])
    write_images(isolated / "data" / hostile, ["3.png", "4.png"])
    train = "data"
    if source == "csv":
        images = {"cat": ["1.png", "2.png"], hostile: ["3.png", "4.png"]}
        rows = [f"data/{label}/{name},{label}" for label, names in images.items() for name in names]
        (isolated / "labels.csv").write_text("\n".join(rows) + "\n")
        train = "labels.csv"
    sets = ["--set", f"data.source={source}", "--set", f"data.train={train}"]
    line = one_error_line(hw3tui("run", tiny_preset, *sets, "--set", "data.val_split=0.5"))
    assert r"class name 'dog\x1b]0;PWNED-TITLE\x07' holds a control character (\x1b)" in line
    assert not Path("runs").exists()

    # as the TUI launches it: the folder exists, so the run ends failed with the reason...
    launched = isolated / "runs" / "launched"
    launched.mkdir(parents=True)
    (launched / "log.txt").write_text("")
    result = hw3tui("run", tiny_preset, *sets, "--set", "data.val_split=0.5", "--run-dir", launched)
    one_error_line(result)
    status = RunDir(launched).read_status()
    assert status is not None and status.state == "failed"
    assert_no_raw(status.reason)
    # ... which every list of runs shows escaped
    listed = hw3tui("runs", "--runs-dir", "runs")
    assert listed.exit_code == 0 and "launched" in listed.stdout
    assert_no_raw(listed.stdout, listed.stderr)

    # and eval on such a folder refuses it the same way
    checkpoint = write_checkpoint(isolated / "model.safetensors", metadata())
    line = one_error_line(hw3tui("eval", checkpoint, "--data", "data"))
    assert r"class name 'dog\x1b]0;PWNED-TITLE\x07'" in line


# --- a run folder and image files named with escape sequences -------------------------------------


@pytest.mark.slow
def test_a_run_folder_and_image_names_with_escapes_are_shown_escaped(
    isolated: Path, tiny_preset: Path
) -> None:
    run_dir = Path("runs") / ("tiny-" + OSC_TITLE)
    shown = r"tiny-\x1b]0;PWNED-TITLE\x07"
    trained = hw3tui("run", tiny_preset, "--run-dir", run_dir)
    assert trained.exit_code == 0, trained.output
    assert_no_raw(trained.stdout, trained.stderr)
    assert f"run {run_dir.parent}/{shown}" in trained.stdout
    # the result header, a YAML comment in the frozen preset: escaped, so the preset still loads
    assert f"# hw3tui result: run {shown} · " in (run_dir / "preset.yaml").read_text()

    listed = hw3tui("runs")
    assert listed.exit_code == 0 and shown in listed.stdout
    assert_no_raw(listed.stdout)

    verified = hw3tui("verify", run_dir)
    assert verified.exit_code == 0 and shown in verified.stdout
    assert_no_raw(verified.stdout)

    evaluated = hw3tui("eval", run_dir, "--csv", "eval.csv")
    assert evaluated.exit_code == 0, evaluated.output
    assert shown in evaluated.stdout
    assert_no_raw(evaluated.stdout, evaluated.stderr, Path("eval.csv").read_text())

    write_images(isolated / "test", ["1.png", "2" + CSI_CLEAR + ".png", "3\x9b.png"])
    predicted = hw3tui("predict", run_dir, "test", "-o", "predictions.csv")
    assert predicted.exit_code == 0, predicted.output
    rows = Path("predictions.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows] == ["Id", "1", r"2\x1b[2J", r"3\x9b"]
    assert_no_raw(predicted.stdout, "\n".join(rows))
