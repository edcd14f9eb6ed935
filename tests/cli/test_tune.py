"""`hw3tui tune` and what a run says about `runtime: auto` (timer faked: no wall-clock figures)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner, Result

from hw3tui.cli import cli
from hw3tui.engine.hardware import probe
from hw3tui.engine.hardware.probe import Setting
from hw3tui.runs import RunDir
from tests.tiny import BACKBONE

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "tests" / "data" / "tiny.yaml")
SECONDS = {"bf16 channels_last": 0.01}
"""A fake step's seconds by setting (0.02 otherwise): bf16 channels_last is twice as fast."""


@pytest.fixture(autouse=True)
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Four candidates on any CPU, and a timer that says how long each step took."""
    timed: list[str] = []

    def timer(device: torch.device) -> probe.StepTimer:
        def timed_step(setting: Setting, size: int, step: Callable[[], None]) -> float:
            timed.append(setting.label)
            return SECONDS.get(setting.label, 0.02)

        return timed_step

    monkeypatch.setattr(probe, "_cpu_has_bf16", lambda: True)
    monkeypatch.setattr(probe, "_wall_timer", timer)
    return timed


def hw3tui(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def run_start(runs: Path = Path("runs")) -> dict[str, object]:
    (folder,) = runs.iterdir()
    events = RunDir(folder).events_file.read_text().splitlines()
    start: dict[str, object] = json.loads(events[0])
    assert start["type"] == "run_start"
    return start


@pytest.mark.slow
def test_tune_prints_the_table_and_the_next_run_uses_it(fake_clock: list[str]) -> None:
    short = hw3tui("run", TINY, "--runs-dir", "short")
    assert short.exit_code == 0, short.output
    assert "runtime auto: table (run too short to measure (6 steps))" in short.output
    assert not fake_clock

    tuned = hw3tui("tune", TINY)
    assert tuned.exit_code == 0, tuned.output
    lines = tuned.output.splitlines()
    assert f"{BACKBONE} at 32 px on cpu" in tuned.output
    assert any(line.split()[:3] == ["fp32", "NCHW", "800.0"] for line in lines)  # 16 / 0.02 s
    assert any(line.split() == ["bf16", "channels_last", "1600.0", "<-", "auto"] for line in lines)
    assert "auto chooses bf16 channels_last" in tuned.output
    assert set(fake_clock) == {"fp32 NCHW", "fp32 channels_last", "bf16 NCHW", "bf16 channels_last"}

    fake_clock.clear()
    again = hw3tui("run", TINY)
    assert again.exit_code == 0, again.output
    assert not fake_clock  # the cache answered
    assert "cpu · bf16 · channels_last" in again.output
    assert "runtime auto: cached; img/s: fp32 NCHW 800, fp32 channels_last 800" in again.output
    runtime = run_start()["runtime"]
    assert isinstance(runtime, dict)
    assert (runtime["precision"], runtime["channels_last"]) == ("bf16", True)
    assert runtime["auto"]["how"] == "cached"
    assert runtime["auto"]["rates"]["bf16 channels_last"] == {"16": 1600.0}


def test_tune_notes_a_setting_the_preset_forces() -> None:
    tuned = hw3tui("tune", TINY, "--set", "runtime.precision=fp32")
    assert tuned.exit_code == 0, tuned.output
    assert "auto chooses bf16 channels_last" in tuned.output
    assert "the preset sets precision: fp32: its runs use that, not auto" in tuned.output


def test_tune_of_a_bad_preset_is_bad_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["tune", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_tune_prints_someone_elses_data_path_escaped(tmp_path: Path) -> None:
    folder = "data\x1b]0;PWNED\x07"
    preset = tmp_path / "p.yaml"
    preset.write_text(
        Path(TINY)
        .read_text()
        .replace("  source: shapes\n", f"  source: imagefolder\n  train: {json.dumps(folder)}\n")
    )
    result = CliRunner().invoke(cli, ["tune", str(preset)])
    assert result.exit_code == 2, result.output
    assert "reading imagefolder images from data\\x1b]0;PWNED\\x07" in result.stdout
    assert not any(raw in result.output for raw in ("\x1b", "\x07"))


def test_tune_as_run_times_only_the_presets_auto_settings_and_then_answers_from_the_cache(
    fake_clock: list[str],
) -> None:
    """What a sweep runs before its first trial: the JSON on stdout alone, notes on stderr."""
    args = ("tune", TINY, "--as-run", "--json", "--seconds", "5", "--set", "runtime.precision=fp32")
    first = hw3tui(*args)
    assert first.exit_code == 0, first.output
    record = json.loads(first.stdout)
    assert (record["backbone"], record["image_size"]) == (BACKBONE, 32)
    runtime = record["runtime"]
    assert (runtime["precision"], runtime["channels_last"]) == ("fp32", False)  # 0.02 s each
    assert runtime["auto"]["how"] == "measured"
    assert set(fake_clock) == {"fp32 NCHW", "fp32 channels_last"}  # bf16 is not the preset's

    fake_clock.clear()
    again = hw3tui(*args)
    assert json.loads(again.stdout)["runtime"]["auto"]["how"] == "cached"
    assert not fake_clock
    assert "hw3tui:" not in again.stdout and "hw3tui: drawing 72 shapes" in again.output
