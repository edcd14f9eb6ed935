"""Images from other people: `predict` names every entry of its folder it cannot read (a dangling
link, a folder or a FIFO named like an image, a link loop) and writes nothing; a file name that a
spreadsheet would run as a formula is written as text; and an image of more pixels than the
documented cap (a decompression bomb: a few KB that decode to gigabytes) is refused, named, before
it is decoded, wherever images are read (training, eval, predict, augment)."""

from __future__ import annotations

import csv
import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from click.testing import CliRunner, Result
from PIL import Image

from hw3tui.cli import cli
from hw3tui.engine.checkpoint import CheckpointInfo, write_best
from hw3tui.engine.data.datasets import MAX_IMAGE_PIXELS

TINY = str(Path(__file__).resolve().parent.parent / "data" / "tiny.yaml")

# hw3tui silences PIL's DecompressionBombWarning (it refuses such an image in one line instead);
# pytest restores the warning filters around each test, so it is silenced here again (the child
# process test shows a user's stderr)
pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")


def hw3tui(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def error_line(result: Result) -> str:
    """A bad-input failure: exit 2 and exactly one line on stderr, no traceback."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def shared_checkpoint(folder: Path, classes: list[str]) -> Path:
    """A randomly initialised resnet18 saved as a shared checkpoint (32 px): no training."""
    torch.manual_seed(0)
    model = torchvision.models.get_model("resnet18", num_classes=len(classes))
    info = CheckpointInfo("tiny", "resnet18", 0, "val_acc", 0.5, classes, image_size=32)
    write_best(model.state_dict(), folder, info, chunk_mb=4)
    return folder


def picture(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 255, (20, 24, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def bomb_png(path: Path, width: int, height: int) -> Path:
    """A 1-bit black PNG of width x height pixels: a few KB on disk (written row by row, so the
    test never holds the pixels either)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then the packed bits
    compressed = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
        + chunk(b"IDAT", compressed)
        + chunk(b"IEND", b"")
    )
    return path


# --- predict: every entry named -----------------------------------------------------------------


@pytest.mark.timeout(60)  # a FIFO read as an image would block until a writer came
def test_predict_names_every_entry_it_cannot_read_and_writes_nothing(isolated: Path) -> None:
    test = isolated / "test"
    picture(test / "1.png")
    (test / "2.png").symlink_to(isolated / "gone.png")  # dangling
    (test / "3.png").mkdir()
    os.mkfifo(test / "4.png")
    (test / "5.png").symlink_to(test / "5.png")  # a loop
    (test / "notes.txt").symlink_to(isolated / "gone.txt")  # not named as an image: not read
    (isolated / "predictions.csv").write_text("Id,Category\nold,0\n")

    line = error_line(hw3tui("predict", "no-such-run", "test"))

    assert line == (
        "error: test: 4 entries named as images are not image files: "
        "2.png (a dangling symbolic link), 3.png (a folder), 4.png (a FIFO), "
        "5.png (a symbolic link loop); remove or replace them"
    )
    assert (isolated / "predictions.csv").read_text() == "Id,Category\nold,0\n"
    assert sorted(p.name for p in isolated.iterdir()) == ["predictions.csv", "test"]


def test_a_link_to_an_image_is_an_image(isolated: Path) -> None:
    shared_checkpoint(isolated / "shared", ["a", "b"])
    picture(isolated / "elsewhere" / "x.png")
    (isolated / "test").mkdir()
    (isolated / "test" / "7.png").symlink_to(isolated / "elsewhere" / "x.png")
    result = hw3tui("predict", "shared", "test", "-o", "-")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].startswith("7,")


# --- predict: formulas stay text ----------------------------------------------------------------


def test_names_a_spreadsheet_would_run_are_written_as_text(isolated: Path) -> None:
    """OWASP's CSV injection advice: a cell starting with =, +, - or @ gets a leading `'`."""
    shared_checkpoint(isolated / "shared", ["=cmd|' /C calc'!A0", "+b", "@c"])
    names = ["=1+1", "+2", "-3", "@SUM(A1)", "4", "a=b"]
    for i, name in enumerate(names):
        picture(isolated / "test" / f"{name}.png", seed=i)

    result = hw3tui("predict", "shared", "test", "-o", "out.csv")

    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO((isolated / "out.csv").read_text())))
    assert rows[0] == ["Id", "Category"]
    assert sorted(r[0] for r in rows[1:]) == sorted(
        ["'=1+1", "'+2", "'-3", "'@SUM(A1)", "4", "a=b"]
    )
    assert {r[1] for r in rows[1:]} <= {"'=cmd|' /C calc'!A0", "'+b", "'@c"}
    assert not any(cell[:1] in "=+-@" for row in rows for cell in row)


# --- decompression bombs ------------------------------------------------------------------------

BOMB = 12_000  # 144 megapixels in 17 KB: 1.5 GB of memory once decoded
JUST_OVER = (8_000, MAX_IMAGE_PIXELS // 8_000 + 1)


def test_the_cap_is_far_above_any_homework_photo() -> None:
    assert MAX_IMAGE_PIXELS == 40_000_000
    readme = (Path(__file__).resolve().parent.parent.parent / "README.md").read_text()
    assert "**An image has at most 40,000,000 pixels**" in readme
    assert MAX_IMAGE_PIXELS >= 8_000 * 5_000  # a 40-megapixel camera's photo is read


@pytest.mark.parametrize(
    ("width", "height", "said"),
    [
        (BOMB, BOMB, "12000x12000 pixels, "),
        (*JUST_OVER, "8000x5001 pixels, "),
        (20_000, 10_000, ""),
    ],
    ids=["12000x12000", "just-over", "past-PIL's-own-limit"],
)
def test_predict_refuses_a_bomb_naming_it(
    isolated: Path, width: int, height: int, said: str
) -> None:
    shared_checkpoint(isolated / "shared", ["a", "b"])
    picture(isolated / "test" / "1.png")
    bomb_png(isolated / "test" / "2.png", width, height)
    line = error_line(hw3tui("predict", "shared", "test"))
    assert line == f"error: cannot read image test/2.png: {said}more than 40,000,000 pixels"
    assert not (isolated / "predictions.csv").exists()


def test_a_bomb_is_refused_without_a_warning_or_the_memory_to_decode_it(
    isolated: Path, subprocess_env: dict[str, str]
) -> None:
    """In a child, as a user runs it: PIL's DecompressionBombWarning never reaches stderr, and
    the process never holds the decoded pixels (1.5 GB here)."""
    shared_checkpoint(isolated / "shared", ["a", "b"])
    bomb_png(isolated / "test" / "0.png", BOMB, BOMB)
    # VmHWM is this process's own peak: ru_maxrss would also count the forked parent's memory
    # (Linux carries it over exec), a gigabyte when the whole suite runs in one pytest
    code = (
        "import sys\n"
        "from hw3tui.cli import cli\n"
        "try:\n"
        "    cli.main(sys.argv[1:], prog_name='hw3tui')\n"
        "finally:\n"
        "    status = open('/proc/self/status').read().split('VmHWM:')[1].split()\n"
        "    print(f'peak {int(status[0]) // 1024} MiB', file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "predict", "shared", "test"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    error, peak = done.stderr.splitlines()
    assert error.startswith("error: ") and "test/0.png" in error, done.stderr
    assert "Warning" not in done.stderr
    assert int(peak.split()[1]) < 1200  # torch and a resnet18: ~600 MiB; the pixels: 1,400 more


def bombed_folder(root: Path) -> Path:
    for label in ("a", "b"):
        for i in range(3):
            picture(root / label / f"{i}.png", seed=i)
    return bomb_png(root / "b" / "9.png", BOMB, BOMB)


def test_training_refuses_a_bomb_in_its_data(isolated: Path) -> None:
    bomb = bombed_folder(isolated / "imgs")
    line = error_line(
        hw3tui("run", TINY, "--set", "data.source=imagefolder", "--set", "data.train=imgs")
    )
    assert f"{bomb}" in line or "imgs/b/9.png" in line
    assert "more than 40,000,000 pixels" in line


@pytest.mark.parametrize("cache", ["true", "false"])
def test_augment_preview_refuses_a_bomb(isolated: Path, cache: str) -> None:
    bombed_folder(isolated / "imgs")
    data = ["data.source=imagefolder", "data.train=imgs", f"data.cache={cache}"]
    line = error_line(hw3tui("augment", TINY, "-o", "grid.png", *(f"--set={d}" for d in data)))
    assert "imgs/b/9.png" in line and "more than 40,000,000 pixels" in line
    assert not (isolated / "grid.png").exists()


def test_eval_refuses_a_bomb_in_its_data(isolated: Path) -> None:
    shared_checkpoint(isolated / "shared", ["a", "b"])
    bombed_folder(isolated / "imgs")
    line = error_line(hw3tui("eval", "shared", "--data", "imgs"))
    assert "imgs/b/9.png" in line and "more than 40,000,000 pixels" in line
