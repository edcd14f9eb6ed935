"""A sweep's trial lines show an axis value someone else chose escaped: a value holding an OSC
sequence (a sweep file from a classmate) never retitles the terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # one real trial (a few seconds)

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "data" / "tiny.yaml"
RAW = (b"\x1b", b"\x07", b"\x9b", b"\xc2\x9b")


def test_an_axis_value_with_an_escape_sequence_is_printed_escaped(tmp_path: Path) -> None:
    # label_pattern is free text the shapes source ignores: the trial trains
    (tmp_path / "s.yaml").write_text(
        f"name: esc\nbase: {TINY}\nset: {{schedule.epochs: 1}}\n"
        'axes:\n  data.label_pattern: ["\\e]0;PWNED\\a(x)\\x9b"]\n'
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-m", "hw3tui", "sweep", "s.yaml", "--sweep-dir", "sw"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not any(raw in done.stdout + done.stderr for raw in RAW), done.stdout
    started = next(line for line in done.stdout.decode().splitlines() if "started" in line)
    assert r"data.label_pattern=\x1b]0;PWNED\x07(x)\x9b" in started
