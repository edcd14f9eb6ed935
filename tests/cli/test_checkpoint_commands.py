"""`hw3tui verify` and `hw3tui join`: every kind of damage named, nothing half-written, and the
system's `cat` and `sha256sum -c` agree with them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner, Result

from hw3tui.checkpoints.format import CheckpointError
from hw3tui.cli import cli
from hw3tui.engine.checkpoint import CheckpointInfo, load_checkpoint, write_best

NAME = "resnet18_best.safetensors"
CHUNKS = 5


def hw3tui(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A run whose best/ holds 5 chunks of 128 KiB (the last one shorter)."""
    torch.manual_seed(0)
    state = {"conv.weight": torch.randn(128, 64, 3, 3), "fc.weight": torch.randn(5, 12288)}
    state["bn.num_batches_tracked"] = torch.tensor(12)
    info = CheckpointInfo("tiny", "resnet18", 4, "val_acc", 0.9375, list("abcde"))
    run = tmp_path / "runs" / "tiny-20260101-000000"
    write_best(state, run / "best", info, chunk_mb=0.125)
    assert len(list((run / "best").glob(f"{NAME}.*"))) == CHUNKS
    return run


def chunk(run: Path, index: int) -> Path:
    return run / "best" / f"{NAME}.{index:03d}"


def system_check(best: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sha256sum", "-c", "--ignore-missing", "SHA256SUMS"],
        cwd=best,
        capture_output=True,
        text=True,
    )


def problems(result: Result) -> list[str]:
    lines = result.stderr.splitlines()
    assert lines[-1].endswith("does not verify"), result.stderr
    assert all(line.startswith("error: ") for line in lines), result.stderr
    return [line.removeprefix("error: ") for line in lines[:-1]]


@pytest.mark.parametrize("where", ["run", "best", "prefix", "chunk"])
def test_verify_ok_one_line(run: Path, where: str) -> None:
    path = {
        "run": run,
        "best": run / "best",
        "prefix": run / "best" / NAME,
        "chunk": chunk(run, 3),
    }[where]
    result = hw3tui("verify", path)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    assert result.stdout.startswith(f"OK {run / 'best' / NAME}.*: 5 chunks, ")
    assert "resnet18, epoch 4, val_acc 0.9375, 5 classes" in result.stdout
    assert system_check(run / "best").returncode == 0


def test_verify_of_a_single_chunk(tmp_path: Path) -> None:
    info = CheckpointInfo("tiny", "resnet18", 0, "val_acc", 0.5, ["a", "b"])
    write_best({"fc.weight": torch.zeros(2, 8)}, tmp_path / "best", info, chunk_mb=1)
    result = hw3tui("verify", tmp_path / "best")
    assert result.exit_code == 0, result.output
    assert f"{NAME}.*: 1 chunk, " in result.stdout


@pytest.mark.parametrize("index", range(CHUNKS))
def test_flipped_byte_in_any_chunk(run: Path, index: int) -> None:
    path = chunk(run, index)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))

    result = hw3tui("verify", run)

    assert result.exit_code == 2
    assert problems(result) == [f"{path.name}: corrupt (its checksum does not match SHA256SUMS)"]
    check = system_check(run / "best")
    assert check.returncode != 0 and f"{path.name}: FAILED" in check.stdout


def test_deleted_chunk(run: Path) -> None:
    chunk(run, 2).unlink()
    result = hw3tui("verify", run / "best")
    assert result.exit_code == 2
    assert problems(result) == [f"{NAME}.002: missing"]


@pytest.mark.parametrize("index", [0, 2, CHUNKS - 1])
def test_truncated_chunk(run: Path, index: int) -> None:
    path = chunk(run, index)
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.truncate(size - 1000)
    result = hw3tui("verify", run)
    assert result.exit_code == 2
    assert problems(result) == [f"{path.name}: truncated ({size - 1000} of {size} bytes)"]
    assert system_check(run / "best").returncode != 0


@pytest.mark.parametrize("stray", [f"{NAME}.005", f"{NAME}.001.orig"])
def test_extra_stray_chunk(run: Path, stray: str) -> None:
    (run / "best" / stray).write_bytes(b"left over from an old copy")
    result = hw3tui("verify", run)
    assert result.exit_code == 2
    assert problems(result) == [
        f"{stray}: extra file, not a chunk listed in SHA256SUMS (`cat {NAME}.*` would include it): "
        "remove it"
    ]
    # what the user would otherwise get: cat picks it up, and the joined file fails the check
    subprocess.run(f"cat {NAME}.* > {NAME}", shell=True, cwd=run / "best", check=True)
    assert system_check(run / "best").returncode != 0


def test_several_problems_all_named(run: Path) -> None:
    chunk(run, 0).unlink()
    with chunk(run, 3).open("r+b") as handle:
        handle.truncate(10)
    (run / "best" / f"{NAME}.009").write_bytes(b"x")
    result = hw3tui("verify", run)
    assert result.exit_code == 2
    named = problems(result)
    assert len(named) == 3
    assert f"{NAME}.000: missing" in named
    assert any(p.startswith(f"{NAME}.003: ") for p in named)
    assert any(p.startswith(f"{NAME}.009: extra file") for p in named)


def test_missing_sums_is_not_ok(run: Path) -> None:
    (run / "best" / "SHA256SUMS").unlink()
    result = hw3tui("verify", run)
    assert result.exit_code == 2
    assert problems(result) == [
        "SHA256SUMS: missing; without it a corrupt chunk cannot be told from a good one"
    ]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("nowhere", "error: nowhere: no such file, directory or chunk prefix"),
        (".", "error: .: no checkpoint here"),
    ],
)
def test_verify_bad_path(path: str, message: str) -> None:
    result = hw3tui("verify", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


# --- join -------------------------------------------------------------------------------------


def test_join_next_to_chunks_equals_cat(run: Path) -> None:
    best = run / "best"
    result = hw3tui("join", run)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote {best / NAME} (")
    catted = subprocess.run(f"cat {NAME}.*", shell=True, cwd=best, capture_output=True).stdout
    assert (best / NAME).read_bytes() == catted
    full = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=best, capture_output=True)
    assert full.returncode == 0 and f"{NAME}: OK".encode() in full.stdout
    assert hw3tui("verify", run).exit_code == 0  # the joined file is checked too
    again = hw3tui("join", run)
    assert again.exit_code == 0 and again.stdout.startswith(f"up to date {best / NAME} (")
    state, info = load_checkpoint(best / NAME)
    assert info.epoch == 4 and state["bn.num_batches_tracked"].item() == 12


def test_join_to_folder_and_file(run: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    assert hw3tui("join", run / "best" / NAME, "-o", shared).exit_code == 0
    assert hw3tui("join", run, "-o", tmp_path / "model.safetensors").exit_code == 0
    assert (shared / NAME).read_bytes() == (tmp_path / "model.safetensors").read_bytes()


def test_join_refuses_damaged_chunks_and_writes_nothing(run: Path, tmp_path: Path) -> None:
    with chunk(run, 1).open("r+b") as handle:
        handle.truncate(5)
    out = tmp_path / "out"
    out.mkdir()
    result = hw3tui("join", run, "-o", out / "model.safetensors")
    assert result.exit_code == 2
    assert f"error: {NAME}.001: truncated" in result.stderr
    assert list(out.iterdir()) == []


def test_join_does_not_overwrite_a_different_file_without_force(run: Path, tmp_path: Path) -> None:
    other = tmp_path / "model.safetensors"
    other.write_bytes(b"my own work")
    result = hw3tui("join", run, "-o", other)
    assert result.exit_code == 2
    assert "exists and differs from the chunks; --force replaces it" in result.stderr
    assert other.read_bytes() == b"my own work"
    assert hw3tui("join", run, "-o", other, "--force").exit_code == 0
    assert other.read_bytes() != b"my own work"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_join_refuses_a_name_cat_would_pick_up(run: Path) -> None:
    result = hw3tui("join", run, "-o", run / "best" / f"{NAME}.joined")
    assert result.exit_code == 2
    assert "would be taken for a chunk" in result.stderr
    assert hw3tui("verify", run).exit_code == 0


def test_commands_never_import_torch(run: Path, subprocess_env: dict[str, str]) -> None:
    code = (
        "import sys\n"
        "from hw3tui.cli import cli\n"
        "for args in (['verify', sys.argv[1]], ['join', sys.argv[1]]):\n"
        "    cli.main(args, standalone_mode=False)\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(run)], env=subprocess_env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK ")


def test_verify_a_run_without_checkpoint(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "tiny-20260101-000000"
    run.mkdir(parents=True)
    (run / "status.json").write_text('{"state": "running"}')
    result = hw3tui("verify", run)
    assert result.exit_code == 2
    assert result.stderr == f"error: {run}: this run has no best checkpoint (yet)\n"


def test_verify_a_run_by_its_name(run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(run.parent.parent)  # the folder that holds runs/
    result = hw3tui("verify", run.name)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"OK runs/{run.name}/best/{NAME}.*: 5 chunks")


def test_verify_and_join_find_a_run_by_name_under_runs_dir(run: Path) -> None:
    """`--runs-dir` is honoured like every other command's (it used to look in ./runs only)."""
    runs_dir = run.parent
    assert runs_dir.resolve() != (Path.cwd() / "runs").resolve()
    result = hw3tui("verify", run.name, "--runs-dir", runs_dir)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"OK {run}/best/{NAME}.*: 5 chunks")
    result = hw3tui("join", run.name, "--runs-dir", runs_dir)
    assert result.exit_code == 0, result.output
    assert (run / "best" / NAME).is_file()
    result = hw3tui("verify", run.name)  # not under ./runs
    assert result.exit_code == 2


def test_empty_sums_file(run: Path) -> None:
    (run / "best" / "SHA256SUMS").write_text("")
    result = hw3tui("verify", run)
    assert result.exit_code == 2
    assert problems(result)[0].startswith(f"{NAME}.000: extra file, not a chunk listed in")


# --- files that are not regular files -----------------------------------------------------------
# A FIFO blocks the open() of a reader until a writer comes, so each of these tests would hang on
# a reader that opens before it looks: the timeout turns that hang into a failure.


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sums", [True, False], ids=["with-sums", "without-sums"])
def test_a_fifo_chunk_is_named_not_waited_for(run: Path, sums: bool) -> None:
    chunk(run, 1).unlink()
    os.mkfifo(chunk(run, 1))
    if not sums:
        (run / "best" / "SHA256SUMS").unlink()
    result = hw3tui("verify", run)
    assert result.exit_code == 2
    assert f"{NAME}.001: a FIFO, not a regular file" in problems(result)
    result = hw3tui("join", run)
    assert result.exit_code == 2
    assert f"error: {NAME}.001: a FIFO, not a regular file" in result.stderr.splitlines()
    assert not (run / "best" / NAME).exists()


@pytest.mark.timeout(60)
def test_a_fifo_stray_chunk_is_an_extra_file(run: Path) -> None:
    os.mkfifo(run / "best" / f"{NAME}.005")
    result = hw3tui("verify", run)
    assert result.exit_code == 2
    assert problems(result) == [
        f"{NAME}.005: extra file, not a chunk listed in SHA256SUMS (`cat {NAME}.*` would include "
        "it): remove it"
    ]


@pytest.mark.timeout(60)
def test_a_fifo_sums_file_is_named_not_waited_for(run: Path) -> None:
    (run / "best" / "SHA256SUMS").unlink()
    os.mkfifo(run / "best" / "SHA256SUMS")
    for command in ("verify", "join"):
        result = hw3tui(command, run)
        assert result.exit_code == 2
        assert "error: SHA256SUMS: a FIFO, not a regular file" in result.stderr.splitlines()
    assert not (run / "best" / NAME).exists()


@pytest.mark.timeout(60)
def test_loading_a_checkpoint_with_a_fifo_chunk_is_a_checkpoint_error(run: Path) -> None:
    """What `eval` and `predict` meet (they load through `load_checkpoint`)."""
    chunk(run, 4).unlink()
    os.mkfifo(chunk(run, 4))
    with pytest.raises(CheckpointError, match=f"{NAME}.004: a FIFO, not a regular file"):
        load_checkpoint(run)


def test_a_chunk_that_is_a_symlink_is_refused_as_one(run: Path, tmp_path: Path) -> None:
    """A copied run folder whose chunk links to a file elsewhere: refused as a link, without
    following it (the target's size or content never shows in a message)."""
    outside = tmp_path / "outside"
    outside.write_bytes(b"a secret the link points at\n" * 37)
    chunk(run, 1).unlink()
    chunk(run, 1).symlink_to(outside)
    result = hw3tui("verify", run)
    assert result.exit_code == 2
    assert problems(result) == [f"{NAME}.001: a symbolic link, not a regular file"]
    assert str(outside.stat().st_size) not in result.stderr
    result = hw3tui("join", run)
    assert result.exit_code == 2
    assert f"error: {NAME}.001: a symbolic link, not a regular file" in result.stderr
    assert not (run / "best" / NAME).exists()


def test_a_sums_file_that_is_a_symlink_is_refused_as_one(run: Path, tmp_path: Path) -> None:
    moved = tmp_path / "SHA256SUMS"
    (run / "best" / "SHA256SUMS").rename(moved)
    (run / "best" / "SHA256SUMS").symlink_to(moved)
    result = hw3tui("verify", run)
    assert result.exit_code == 2
    assert "SHA256SUMS: a symbolic link, not a regular file" in problems(result)
