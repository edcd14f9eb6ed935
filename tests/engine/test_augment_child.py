"""The editor's preview child (`python -m hw3tui.engine.inference.augment_child`): the engine's
own module, run as a process, so the TUI imports no engine; bad input is exit 2 and one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CHILD = "hw3tui.engine.inference.augment_child"


def run_child(tmp_path: Path, preset: str) -> subprocess.CompletedProcess[str]:
    preset_file = tmp_path / "preset.yaml"
    preset_file.write_text(preset, encoding="utf-8")
    out = tmp_path / "tiles.npy"
    return subprocess.run(
        [sys.executable, "-m", CHILD, str(preset_file), str(out), "1", "1", "8"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    ("preset", "said"),
    [
        ("name: bad\nschedule: {epochs: -1}\n", "the preset has problems"),
        ("name: bad\ndata: {source: imagefolder, train: nowhere}\n", "nowhere"),
    ],
    ids=["invalid preset", "missing data"],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, preset: str, said: str) -> None:
    child = run_child(tmp_path, preset)
    assert child.returncode == 2
    assert said in child.stderr
    assert len(child.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "tiles.npy").exists()
