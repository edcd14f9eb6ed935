"""Shortening a run by an override cuts the schedule entries it never reaches, with a warning."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hw3tui.cli import cli
from hw3tui.preset import PresetError, load_preset, validate_text

FIFTY = """name: long  # kept
schedule:
  epochs: 50
  lr: {0: 0.01, 15: 0.001, 30: 0.0001}
  batch_size:
    0: 32
    10: 64
    20: 128
  weight_decay: [0.0, 0.1, 0.2, 0.3, 0.4]
"""


def test_fewer_epochs_by_override_cut_the_unreached_entries() -> None:
    text = FIFTY.replace("epochs: 50", "epochs: 5")
    loaded = validate_text(text, "long.yaml", ["schedule.epochs=3"])

    schedule = loaded.preset.schedule
    assert schedule.epochs == 3
    assert schedule.lr == {0: 0.01}
    assert schedule.batch_size == {0: 32}
    assert schedule.weight_decay == [0.0, 0.1, 0.2]
    assert loaded.warnings == (
        "--set schedule.epochs=3: schedule.epochs is 3 (last epoch 2), so these are never "
        "reached: schedule.lr from epochs 15, 30; schedule.batch_size from epochs 10, 20; "
        "schedule.weight_decay per-epoch list values 4-5 of 5",
    )
    assert "name: long  # kept" in loaded.text
    # the frozen copy stands on its own: a resumed run reads it without the override
    assert validate_text(loaded.text, "preset.yaml").preset == loaded.preset


def test_entries_still_reached_give_no_warning() -> None:
    text = FIFTY.replace("[0.0, 0.1, 0.2, 0.3, 0.4]", "0.0")
    loaded = validate_text(text, "long.yaml", ["schedule.epochs=40"])
    assert loaded.preset.schedule.lr == {0: 0.01, 15: 0.001, 30: 0.0001}
    assert loaded.warnings == ()


def test_a_per_epoch_list_too_short_stays_an_error() -> None:
    with pytest.raises(PresetError, match=r"the list gives 5 values but schedule\.epochs is 8"):
        validate_text(FIFTY, "long.yaml", ["schedule.epochs=8"])


@pytest.mark.parametrize("epochs", ["3", "50"])
def test_written_in_the_file_an_entry_past_the_end_stays_an_error(epochs: str) -> None:
    text = "schedule:\n  epochs: 3\n  lr: {0: 0.1, 5: 0.01}\n"
    overrides = ["seed=1"] if epochs == "3" else []
    with pytest.raises(PresetError) as caught:
        validate_text(text, "p.yaml", overrides)
    assert "p.yaml:3:16: schedule.lr.5: epoch 5 is past the last epoch 2" in str(caught.value)


def test_run_a_shipped_preset_for_fewer_epochs_warns_once(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", "mobilenetv2", "--set", "schedule.epochs=3"])

    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "schedule.batch_size from epochs 10, 20" in warnings[0]


def test_builtin_preset_loads_shortened() -> None:
    loaded = load_preset("mobilenetv2", ["schedule.epochs=3"])
    assert all(k < 3 for k in loaded.preset.schedule.batch_size)
