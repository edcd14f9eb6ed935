"""Rebuilding the single file from a chunk set: written atomically, and only when every chunk
verifies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hw3tui.atomic import open_atomic
from hw3tui.checkpoints.format import (
    SUMS_FILE,
    CheckpointError,
)
from hw3tui.checkpoints.locate import locate, read_sums
from hw3tui.checkpoints.verify import file_sha256, scan, verify
from hw3tui.checkpoints.version import Changed


@dataclass(frozen=True)
class Joined:
    """What `join` did."""

    path: Path
    total_bytes: int
    sha256: str
    chunks: int
    unchanged: bool
    """The output already held exactly these bytes; nothing was written."""


def join(path: Path, output: Path | None = None, *, force: bool = False) -> Joined:
    """Rebuild the single file from a chunk set, writing it atomically only if every chunk
    verifies; CheckpointError (listing every problem, one per line) otherwise."""
    source = locate(path)
    if not source.chunked:
        raise CheckpointError(f"{source.joined}: already a single file; nothing to join")
    target = source.joined if output is None else Path(output)
    if target.is_dir():
        target = target / source.name
    if target.resolve().parent == source.folder.resolve() and (
        target.name == SUMS_FILE or target.name.startswith(source.name + ".")
    ):
        raise CheckpointError(
            f"{target}: would be taken for a chunk by `cat {source.name}.*`; choose another name"
        )
    sums, _ = read_sums(source.folder)
    expected = sums.get(source.name) if sums else None
    exists = target.exists()
    if exists and expected is not None and file_sha256(target) == expected:
        report = verify(path)
        if report.ok:
            return Joined(target, report.total_bytes, expected, len(report.files), unchanged=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open_atomic(target) as out:
        try:
            report = scan(source, out=out, check_joined=False)
        except Changed:
            raise CheckpointError(
                f"{source.describe()}: the checkpoint changed while it was being read; try again"
            ) from None
        if not report.ok:
            raise CheckpointError("\n".join([*report.problems, f"{source.describe()}: not joined"]))
        if exists and not force:
            raise CheckpointError(
                f"{target}: exists and differs from the chunks; --force replaces it"
            )
    assert report.sha256 is not None
    return Joined(target, report.total_bytes, report.sha256, len(report.files), unchanged=False)
