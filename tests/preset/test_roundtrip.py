"""Saving keeps comments, key order and the formatting of every untouched line."""

from __future__ import annotations

import difflib
from pathlib import Path

from hw3tui.preset import builtin_presets, check_text, load_preset, save_text, set_value
from hw3tui.preset.io import minimal_text
from hw3tui.preset.models import Preset


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_changing_one_value_changes_one_line_only() -> None:
    text = builtin_presets()["resnet50"].read_text()

    edited = set_value(text, ("schedule", "lr", 15), 0.002)

    assert changed_lines(text, edited) == [
        "-  lr: {0: 0.01, 15: 0.001, 30: 0.0001}      # lowered after the best epochs (15-20)",
        "+  lr: {0: 0.01, 15: 0.002, 30: 0.0001}      # lowered after the best epochs (15-20)",
    ]
    preset, problems = check_text(edited, "resnet50.yaml")
    assert problems == []
    assert preset is not None and preset.schedule.lr == {0: 0.01, 15: 0.002, 30: 0.0001}


def test_replacing_a_whole_schedule_keeps_its_comment() -> None:
    text = builtin_presets()["mobilenetv2"].read_text()

    edited = set_value(text, ("schedule", "lr"), {"cosine": {"start": 0.001, "end": 1e-05}})

    diff = changed_lines(text, edited)
    assert len(diff) == 2
    assert diff[1].startswith("+  lr: {cosine: {start: 0.001, end: 1e-05}}")
    assert diff[1].endswith("# lowered after the best epochs (15-20)")


def test_adding_a_missing_key_keeps_every_comment() -> None:
    text = builtin_presets()["quickstart"].read_text()

    edited = set_value(text, ("runtime", "precision"), "fp32")

    comments = [line for line in text.splitlines() if "#" in line]
    assert all(comment in edited.splitlines() for comment in comments)
    assert load_preset_text(edited).runtime.precision == "fp32"


def test_save_writes_atomically_and_keeps_the_file_mode(tmp_path: Path) -> None:
    folder = tmp_path / "presets"
    folder.mkdir()
    path = folder / "mine.yaml"
    path.write_text("name: a  # keep me\n")
    path.chmod(0o640)

    save_text(path, set_value(path.read_text(), ("name",), "b"))

    assert path.read_text() == "name: b  # keep me\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in folder.iterdir()] == ["mine.yaml"]  # no staging file left


def test_new_preset_text_holds_only_what_differs_from_defaults() -> None:
    preset = Preset.model_validate(
        {"name": "mine", "schedule": {"epochs": 3, "lr": {0: 0.1, 2: 0.01}}, "seed": 0}
    )

    text = minimal_text(preset)

    assert text == "name: mine\nschedule:\n  epochs: 3\n  lr: {0: 0.1, 2: 0.01}\n"
    assert load_preset_text(text) == preset


def test_builtin_presets_survive_a_minimal_round_trip() -> None:
    for path in builtin_presets().values():
        preset = load_preset(path).preset
        assert load_preset_text(minimal_text(preset)) == preset


def load_preset_text(text: str) -> Preset:
    preset, problems = check_text(text, "edited.yaml")
    assert problems == [], problems
    assert preset is not None
    return preset
