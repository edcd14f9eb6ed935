"""benchmarks/train_throughput.py runs end to end and prints a paste-ready Markdown table (on a
tiny workload: the figures themselves are the README's business, never a test's)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_benchmark_prints_a_markdown_row_for_its_workload(
    subprocess_env: dict[str, str],
) -> None:
    command = [
        sys.executable,
        str(REPO / "benchmarks" / "train_throughput.py"),
        *("--model", "resnet18", "--image-size", "32", "--images", "24", "--batch-size", "8"),
        *("--epochs", "1", "--repeats", "1", "--device", "cpu", "--markdown"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=subprocess_env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    header = [cell.strip() for cell in lines[2].strip("|").split("|")]
    row = dict(zip(header, (c.strip() for c in lines[4].strip("|").split("|")), strict=True))
    assert (row["model"], row["px"], row["batch"], row["images × epochs"]) == (
        "resnet18",
        "32",
        "8",
        "24 × 1",
    )
    engine, plain = float(row["engine img/s"]), float(row["plain img/s"])
    ratio = float(row["engine ÷ plain"].strip("*×"))
    assert engine > 0 and plain > 0
    # the ratio of the unrounded rates: within what the rates' one decimal and its own three
    # significant digits allow (a slow machine's 5.0 img/s is anything from 4.95 to 5.05)
    lowest, highest = (engine - 0.05) / (plain + 0.05), (engine + 0.05) / max(plain - 0.05, 1e-9)
    assert lowest * 0.995 <= ratio <= highest * 1.005
    assert len(row["engine ÷ plain"].strip("*×").replace(".", "").lstrip("0")) == 3
    assert float(row["resident img/s"]) > 0 and float(row["engine train ÷ resident"]) > 0
    # 3 steps are too short for runtime auto to measure: the table's resnet18 below 96 px
    assert row["engine runtime"] == "cpu fp32 NCHW (table: run too short to measure (3 steps))"
    # one progress line per variant on stderr, none in the pasteable output
    assert [v for v in ("engine", "plain", "resident") if f"  {v}" in done.stderr] == [
        "engine",
        "plain",
        "resident",
    ]
