"""One real tiny run, trained once per session: every hostile case is a broken copy of it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from hostile_corpus import CLEAN_NAME, HOSTILE_NAME, RUN_CASES, copy_run

REPO = Path(__file__).resolve().parent.parent.parent
TINY = REPO / "tests" / "data" / "tiny.yaml"


SMALLER = [
    *("--set", "backbone.name=mobilenet_v3_small"),
    *("--set", "checkpoint.chunk_mb=1"),
    *("--set", "data.shapes.train_per_class=8"),
    *("--set", "data.shapes.val_per_class=4"),
    *("--set", "schedule.batch_size=8"),
]
"""tests/data/tiny.yaml, smaller still: every reader evaluates it dozens of times (6 chunks of
1 MB, 12 val images)."""


@pytest.fixture(scope="session")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished `hw3tui run tests/data/tiny.yaml` (2 epochs, best/ in 6 chunks), with the
    log.txt of a run the TUI launched and a note, so their readers have something to read."""
    from click.testing import CliRunner

    from hw3tui.cli import cli

    root = tmp_path_factory.mktemp("real-run")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("XDG_CACHE_HOME", str(root / "cache"))  # session scope: before `isolated`
        result = CliRunner().invoke(cli, ["run", str(TINY), "--runs-dir", "runs", *SMALLER])
        assert result.exit_code == 0, result.output
        (run,) = (root / "runs").iterdir()
        note = CliRunner().invoke(cli, ["note", str(run), "why: the smallest run there is"])
        assert note.exit_code == 0, note.output
    (run / "log.txt").write_text(f"hw3tui run: {run.name}\ntraining on cpu\n")
    return run


@dataclass(frozen=True)
class Corpus:
    """A runs folder with the clean run and one hostile copy; `out`: an empty folder for output."""

    runs_dir: Path
    clean: Path
    hostile: Path
    out: Path


def build_case(real_run: Path, root: Path, key: str) -> Corpus:
    runs_dir = root / "runs"
    runs_dir.mkdir(parents=True)
    clean = copy_run(real_run, runs_dir / CLEAN_NAME)
    hostile = RUN_CASES[key].build(copy_run(real_run, runs_dir / HOSTILE_NAME))
    out = root / "out"
    out.mkdir()
    return Corpus(runs_dir=runs_dir, clean=clean, hostile=hostile, out=out)
