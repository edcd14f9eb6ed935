"""`--set field.path=value`: applied to the text, validated exactly like the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hw3tui.cli import cli
from hw3tui.preset import PresetError, load_preset


def write(text: str) -> Path:
    path = Path("p.yaml")
    path.write_text(text)
    return path


def test_overrides_are_applied_with_yaml_types() -> None:
    path = write("name: p  # mine\nschedule:\n  epochs: 5\n")

    loaded = load_preset(
        path,
        [
            "schedule.epochs=3",
            "schedule.lr={0: 0.1, 2: 1e-3}",
            "augment.horizontal_flip=0.5",
            "backbone.pretrained=false",
        ],
    )

    assert loaded.preset.schedule.epochs == 3
    assert loaded.preset.schedule.lr == {0: 0.1, 2: 0.001}
    assert loaded.preset.augment.horizontal_flip == 0.5
    assert loaded.preset.backbone.pretrained is False
    assert "name: p  # mine" in loaded.text  # the frozen copy keeps the file's comments


def test_a_later_override_wins() -> None:
    loaded = load_preset(write("name: p\n"), ["seed=1", "seed=7"])
    assert loaded.preset.seed == 7


def test_epoch_keys_can_be_overridden_one_by_one() -> None:
    path = write("schedule:\n  epochs: 5\n  lr: {0: 0.1, 3: 0.01}\n")
    loaded = load_preset(path, ["schedule.lr.3=0.05"])
    assert loaded.preset.schedule.lr == {0: 0.1, 3: 0.05}


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("schedule.lr=abc", "--set schedule.lr=abc: schedule.lr: input should be a valid number"),
        (
            "optimizer.nme=adam",
            "--set optimizer.nme=adam: optimizer.nme: unknown key 'nme'; did you mean 'name'?",
        ),
        ("schedule.epochs", "--set schedule.epochs: expected field.path=value"),
        ("=3", "--set =3: expected field.path=value"),
        ("backbone.name=[1", "--set backbone.name=[1: expected ',' or ']'"),
        ("schedule.epochs=0", "--set schedule.epochs=0: schedule.epochs: must be at least 1"),
        ("name.first=x", "--set name.first=x: name is not a mapping"),
    ],
)
def test_bad_overrides_name_the_override(override: str, expected: str) -> None:
    write("name: p\n")

    result = CliRunner().invoke(cli, ["validate", "p.yaml", "--set", override])

    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output


def test_override_errors_keep_file_locations_for_the_file() -> None:
    path = write("schedule:\n  epochs: 20\n  lr: {0: 0.1, 15: 0.01}\n  weight_decay: -1\n")

    with pytest.raises(PresetError) as caught:
        load_preset(path, ["schedule.epochs=10"])

    assert str(caught.value) == (
        "p.yaml:4:17: schedule.weight_decay: must be at least 0.0 (got -1)"
    )
