"""`hw3tui verify PATH` and `hw3tui join PATH`: check and rebuild a chunked checkpoint.

No torch: both work on bytes (hw3tui.checkpoints.verify), so they answer at once.
"""

from __future__ import annotations

from pathlib import Path

import click

from hw3tui.checkpoints.format import SUMS_FILE, CheckpointError, CheckpointInfo, Header, MiB
from hw3tui.checkpoints.join import join as join_chunks
from hw3tui.checkpoints.verify import Report
from hw3tui.checkpoints.verify import verify as verify_chunks
from hw3tui.commands.options import runs_dir_option
from hw3tui.errors import BadInput
from hw3tui.runs import DEFAULT_RUNS_DIR, resolve
from hw3tui.untrusted import printable

PATH_HELP = (
    "PATH: a run directory (or a run's name under --runs-dir), its best/ directory, a chunk "
    "prefix, or a .safetensors file."
)


@click.command(epilog=PATH_HELP)
@click.argument("path", type=click.Path(path_type=Path))
@runs_dir_option()
def verify(path: Path, runs_dir: Path | None) -> None:
    """Check a checkpoint: every chunk against SHA256SUMS, and its header.

    Names every missing, extra, truncated or corrupt chunk and exits 2; exits 0 with a one-line
    summary when the checkpoint is whole.
    """
    report = verify_chunks(resolve(path, runs_dir or DEFAULT_RUNS_DIR).checkpoint)
    if not report.ok:
        where = report.source.describe()
        raise BadInput("\n".join([*report.problems, f"{where}: does not verify"]))
    click.echo(printable(summary(report)))


@click.command(epilog=PATH_HELP)
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="File (or folder) to write; default: the joined name next to the chunks.",
)
@click.option("--force", is_flag=True, help="Replace an existing output file that differs.")
@runs_dir_option()
def join(path: Path, output: Path | None, force: bool, runs_dir: Path | None) -> None:
    """Rebuild the single .safetensors file from its chunks.

    Writes nothing unless every chunk verifies; the output appears whole or not at all. The result
    is byte-identical to `cat NAME.safetensors.* > NAME.safetensors`.
    """
    joined = join_chunks(
        resolve(path, runs_dir or DEFAULT_RUNS_DIR).checkpoint, output, force=force
    )
    what = "up to date" if joined.unchanged else "wrote"
    click.echo(
        f"{what} {printable(joined.path)} ({_size(joined.total_bytes)} from "
        f"{_chunks(joined.chunks)}, "
        f"sha256 {joined.sha256[:12]}..., as in {SUMS_FILE})"
    )


def _chunks(count: int) -> str:
    return "1 chunk" if count == 1 else f"{count} chunks"


def summary(report: Report) -> str:
    """One line: what was checked, and what the checkpoint is."""
    source = report.source
    pieces = _chunks(len(report.files)) if source.chunked else "1 file"
    checked = f"sha256 {report.sha256[:12]}..." if report.sha256 else ""
    if not report.checked_sums:
        checked = f"header checked; no {SUMS_FILE} entry to check the bytes against"
    about = _about(report.header, source.describe())
    return f"OK {source.describe()}: {pieces}, {_size(report.total_bytes)}, {checked}{about}"


def _about(header: Header | None, where: str) -> str:
    if header is None:
        return ""
    try:
        info = CheckpointInfo.from_metadata(header.metadata, where)
    except CheckpointError:
        return f"; {len(header.tensors)} tensors"
    return (
        f"; {info.backbone}, epoch {info.epoch}, {info.metric} {info.value:.4g}, "
        f"{len(info.classes)} classes"
    )


def _size(nbytes: int) -> str:
    return f"{nbytes / MiB:.1f} MiB" if nbytes >= MiB else f"{nbytes} bytes"
