"""`validate`, `schema`, `diff` and `--help`: correct, and fast because they never import torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from hw3tui.cli import cli
from hw3tui.preset import builtin_presets
from hw3tui.preset.yamlio import parse, to_plain

REPO = Path(__file__).resolve().parents[2]


def test_validate_shipped_presets() -> None:
    result = CliRunner().invoke(cli, ["validate", *map(str, builtin_presets().values())])
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (") == 3


def test_validate_builtin_by_name() -> None:
    result = CliRunner().invoke(cli, ["validate", "quickstart"])
    assert result.exit_code == 0
    assert result.output.startswith("quickstart: ok (quickstart: resnet18 on shapes")


def test_schema_accepts_shipped_presets_and_rejects_a_typo(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    result = CliRunner().invoke(cli, ["schema", "-o", str(out)])
    assert result.exit_code == 0
    schema = json.loads(out.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    for path in builtin_presets().values():
        data = json.loads(json.dumps(to_plain(parse(path.read_text(), str(path)).data)))
        assert list(validator.iter_errors(data)) == [], path
    assert list(validator.iter_errors({"optimiser": {}}))
    assert "Learning rate" in schema["$defs"]["Schedule"]["properties"]["lr"]["description"]


def test_committed_schema_is_current() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert (REPO / "preset.schema.json").read_text() == result.output, (
        "run: hw3tui schema -o preset.schema.json"
    )


def test_schema_to_a_missing_folder_is_bad_input() -> None:
    result = CliRunner().invoke(cli, ["schema", "-o", "nowhere/schema.json"])
    assert result.exit_code == 2
    assert "folder nowhere does not exist" in result.output


def test_diff_lists_field_level_changes_with_defaults_filled_in() -> None:
    result = CliRunner().invoke(
        cli, ["diff", "mobilenetv2", "resnet50", "--set", "augment.grayscale=0.2"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:2] == ["--- mobilenetv2", "+++ resnet50"]
    changed = {line.split()[0]: line for line in lines[2:]}
    assert set(changed) == {
        "name",
        "backbone.name",
        "optimizer.name",
        "augment.grayscale",
        "schedule.lr",
    }
    assert "adam → sgd" in changed["optimizer.name"]
    assert "0.1 → 0.2" in changed["augment.grayscale"]


def test_diff_of_identical_presets() -> None:
    result = CliRunner().invoke(cli, ["diff", "quickstart", "quickstart"])
    assert result.exit_code == 0
    assert result.output == "no differences between quickstart and quickstart\n"


def test_diff_with_a_bad_preset_is_bad_input() -> None:
    Path("bad.yaml").write_text("foo: 1\n")
    result = CliRunner().invoke(cli, ["diff", "quickstart", "bad.yaml"])
    assert result.exit_code == 2
    assert "bad.yaml:1:1: foo: unknown key 'foo'" in result.output


def test_unknown_flag_is_bad_input() -> None:
    result = CliRunner().invoke(cli, ["validate", "--frobnicate", "quickstart"])
    assert result.exit_code == 2


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["validate", "quickstart"], ["schema"], ["diff", "quickstart", "resnet50"]],
    ids=["help", "validate", "schema", "diff"],
)
def test_commands_that_do_not_train_never_import_torch(
    argv: list[str], subprocess_env: dict[str, str]
) -> None:
    probe = (
        "import sys\n"
        "from hw3tui.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit as exit:\n"
        "    code = exit.code\n"
        "heavy = sorted(m for m in ('torch', 'torchvision', 'textual') if m in sys.modules)\n"
        "print('IMPORTED', heavy, code, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=subprocess_env, capture_output=True, text=True
    )
    assert "IMPORTED [] 0" in done.stderr, done.stderr
