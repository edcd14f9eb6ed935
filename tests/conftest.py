"""Every test runs in its own empty working directory with its own HOME, so nothing leaks."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytest_plugins = ["postgres_server"]  # postgres_server, postgres_url: a real PostgreSQL

_HOLD_SWEEP_WORKER = [
    sys.executable,
    "-c",
    """
import sys, time
from pathlib import Path
from hw3tui.sweeps.workers import hold_worker
with hold_worker(Path(sys.argv[1])):
    try:
        print("held", flush=True)
        time.sleep(60)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
""",
]


@pytest.fixture
def hold_sweep_worker() -> list[str]:
    """A command that holds a sweep folder's worker lock (add the folder) until SIGINT, as a
    running `hw3tui sweep` does: what `hw3tui sweeps` and the TUI see as a live sweep."""
    return list(_HOLD_SWEEP_WORKER)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TORCH_HOME", str(home / ".cache" / "torch"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(work)
    yield work


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    """Environment for running `python -m hw3tui` in a child: this checkout first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    return env


@pytest.fixture
def tiny_preset() -> Path:
    """A preset that trains in seconds on CPU (tests/data/tiny.yaml)."""
    return REPO / "tests" / "data" / "tiny.yaml"


@pytest.fixture(scope="module")
def finished_runs(tmp_path_factory: pytest.TempPathFactory) -> object:
    """Three tiny runs trained once per test module with `hw3tui run`, all started in `root`:
    `shapes` (tests/data/tiny.yaml), `faster` (lr 0.01, 3 epochs) and `folder` (an imagefolder
    of cat/dog/fox at the relative path data/train, split by val_split 0.25)."""
    import types

    import numpy as np
    from click.testing import CliRunner
    from PIL import Image

    from hw3tui.cli import cli

    root = tmp_path_factory.mktemp("finished-runs")
    colours = {"cat": 0, "dog": 1, "fox": 2}
    for label, channel in colours.items():
        for i in range(12):
            pixels = np.full((20, 24, 3), 50, dtype=np.uint8)
            pixels[..., channel] = 190
            noise = np.random.default_rng(channel * 100 + i).normal(0, 25, pixels.shape)
            image = np.clip(pixels + noise, 0, 255).astype(np.uint8)
            path = root / "data" / "train" / label / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(path)
    tiny = str(REPO / "tests" / "data" / "tiny.yaml")
    runs_dir = root / "runs"
    made: dict[str, Path] = {}
    recipes = {
        "shapes": (),
        "faster": ("schedule.lr=0.01", "schedule.epochs=3"),
        "folder": ("data.source=imagefolder", "data.train=data/train", "data.val_split=0.25"),
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("XDG_CACHE_HOME", str(root / "cache"))  # module scope: before `isolated`
        for key, overrides in recipes.items():
            before = set(runs_dir.iterdir()) if runs_dir.is_dir() else set()
            sets = [arg for o in overrides for arg in ("--set", o)]
            result = CliRunner().invoke(cli, ["run", tiny, "--runs-dir", str(runs_dir), *sets])
            assert result.exit_code == 0, result.output
            (made[key],) = set(runs_dir.iterdir()) - before
    return types.SimpleNamespace(root=root, runs_dir=runs_dir, **made)
