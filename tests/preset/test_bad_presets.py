"""Every kind of bad preset: exit 2, no traceback, and a message naming the field and its line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from hw3tui.cli import cli

GOOD = """\
name: ok
schedule:
  epochs: 5
"""

# (case id, file content, expected text in the output: `file:line:col: field: message` pieces)
CASES: list[tuple[str, str | bytes, str]] = [
    ("unknown top-level key", "name: x\nfoo: 1\n", "bad.yaml:2:1: foo: unknown key 'foo'"),
    (
        "misspelt section",
        "optimiser: {name: sgd}\n",
        "bad.yaml:1:1: optimiser: unknown key 'optimiser'; did you mean 'optimizer'?",
    ),
    (
        "misspelt nested key",
        "data:\n  cahce: true\n",
        "bad.yaml:2:3: data.cahce: unknown key 'cahce'; did you mean 'cache'?",
    ),
    (
        "wrong type",
        "schedule:\n  epochs: ten\n",
        "bad.yaml:2:11: schedule.epochs: input should be a valid integer, got 'ten'",
    ),
    (
        "bool where a number belongs",
        "augment:\n  horizontal_flip: true\n",
        "bad.yaml:2:20: augment.horizontal_flip: input should be a valid number, got true",
    ),
    (
        "probability above 1",
        "augment:\n  horizontal_flip: 1.5\n",
        "bad.yaml:2:20: augment.horizontal_flip: must be at most 1.0 (got 1.5)",
    ),
    (
        "negative learning rate",
        "schedule:\n  lr: -0.1\n",
        "bad.yaml:2:7: schedule.lr: must be above 0.0 (got -0.1)",
    ),
    (
        "zero batch size",
        "schedule:\n  batch_size: 0\n",
        "bad.yaml:2:15: schedule.batch_size: must be at least 1 (got 0)",
    ),
    (
        "fractional batch size",
        "schedule:\n  batch_size: 32.5\n",
        "bad.yaml:2:15: schedule.batch_size: input should be a valid integer, got 32.5",
    ),
    (
        "schedule epoch past the end",
        "schedule:\n  epochs: 10\n  lr: {0: 0.1, 12: 0.01}\n",
        "bad.yaml:3:16: schedule.lr.12: epoch 12 is past the last epoch 9",
    ),
    (
        "schedule without epoch 0",
        "schedule:\n  batch_size: {2: 32}\n",
        "bad.yaml:2:15: schedule.batch_size: an {epoch: value} schedule must give epoch 0",
    ),
    (
        "per-epoch list of the wrong length",
        "schedule:\n  epochs: 3\n  weight_decay: [0, 0.1]\n",
        "bad.yaml:3:17: schedule.weight_decay: the list gives 2 values but schedule.epochs is 3",
    ),
    ("negative epoch key", "schedule:\n  lr: {0: 0.1, -1: 0.2}\n", "schedule.lr"),
    (
        "unknown schedule form",
        "schedule:\n  lr: {linaer: {start: 0.1, end: 0.01}}\n",
        "bad.yaml:2:7: schedule.lr: unknown schedule form 'linaer'; did you mean 'linear'?",
    ),
    (
        "ramp without end",
        "schedule:\n  lr: {cosine: {start: 0.1}}\n",
        "schedule.lr.cosine.end: missing: this field is required",
    ),
    (
        "misspelt ramp key",
        "schedule:\n  lr: {linear: {start: 0.1, ende: 0.01}}\n",
        "schedule.lr.linear.ende: unknown key 'ende'; did you mean 'end'?",
    ),
    (
        "plateau factor 1",
        "schedule:\n  lr: {plateau: {start: 0.1, factor: 1}}\n",
        "schedule.lr.plateau: plateau factor 1 would never change the value",
    ),
    ("duplicate key", "name: a\nseed: 1\nname: b\n", "bad.yaml:3:1: duplicate key 'name'"),
    ("YAML syntax error", "schedule: {epochs: 3\n", "bad.yaml:2:1: expected ',' or '}'"),
    (
        "tab indentation",
        "schedule:\n\tepochs: 3\n",
        "bad.yaml:2:1: tab character: YAML indents with spaces, not tabs",
    ),
    (
        "python tag",
        "name: !!python/object/apply:os.system ['touch pwned']\n",
        "bad.yaml:1:7: tag !!python/object/apply:os.system is not allowed",
    ),
    ("custom tag", "seed: !include other.yaml\n", "bad.yaml:1:7: tag !include is not allowed"),
    ("empty file", "", "bad.yaml: the preset is empty"),
    ("only comments", "# nothing here\n", "bad.yaml: the preset is empty"),
    ("top-level list", "- name: x\n", "bad.yaml:1:1: a preset is a mapping of sections"),
    ("top-level scalar", "hello\n", "bad.yaml:1:1: a preset is a mapping of sections"),
    (
        "top-level list after comments",
        "# my preset\n# (a list by mistake)\n\n- name: x\n",
        "bad.yaml:4:1: a preset is a mapping of sections (name, data, backbone, ...), not a list",
    ),
    ("indented flow list after ---", "# mine\n---\n  [a, b]\n", "bad.yaml:3:3: a preset is a"),
    ("top-level scalar after comments", "# mine\n\nhello\n", "bad.yaml:3:1: a preset is a"),
    (
        "two documents",
        "name: a\n---\nname: b\n",
        "bad.yaml:2:1: a preset is a single YAML document",
    ),
    ("non-UTF-8 bytes", b"name: caf\xe9\n", "bad.yaml:1:10: not UTF-8 text (byte 0xe9)"),
    (
        "alias bomb",
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
        "bad.yaml:2:8: aliases (*a) are not allowed",
    ),
    (
        "unknown backbone",
        "backbone:\n  name: resnet5\n",
        "bad.yaml:2:9: backbone.name: unknown backbone 'resnet5'; did you mean 'resnet50'?",
    ),
    (
        "backbone spelt like the paper",
        "backbone:\n  name: mobilenetv2\n",
        "backbone.name: unknown backbone 'mobilenetv2'; did you mean 'mobilenet_v2'?",
    ),
    (
        "unknown optimizer",
        "optimizer:\n  name: adma\n",
        "bad.yaml:2:9: optimizer.name: 'adma' is not one of sgd, adam, adamw; did you mean 'adam'?",
    ),
    (
        "momentum with adam",
        "optimizer:\n  name: adam\n  momentum: 0.9\n",
        "optimizer.momentum: momentum applies to sgd",
    ),
    (
        "file source without train",
        "data:\n  source: imagefolder\n",
        "data.train: source 'imagefolder' needs `train`",
    ),
    (
        "val and val_split",
        "data:\n  source: imagefolder\n  train: a\n  val: b\n  val_split: 0.2\n",
        "data.val_split: give either `val` or `val_split`, not both",
    ),
    (
        "label pattern without a group",
        "data:\n  label_pattern: '^\\d+_'\n",
        "data.label_pattern: needs a group around the label",
    ),
    (
        "label pattern that does not compile",
        "data:\n  label_pattern: '(['\n",
        "data.label_pattern: not a valid regular expression",
    ),
    (
        "unknown device",
        "runtime:\n  device: gpu\n",
        "bad.yaml:2:11: runtime.device: expected auto, cpu, cuda, cuda:N or mps (got 'gpu')",
    ),
    (
        "name unusable as a folder",
        "name: my run\n",
        "bad.yaml:1:7: name: use letters, digits, '.', '_' and '-'",
    ),
    (
        "affine scale high to low",
        "augment:\n  affine: {scale: [1.2, 0.8]}\n",
        "augment.affine.scale: scale goes from low to high",
    ),
    (
        "label smoothing of 1",
        "loss:\n  label_smoothing: 1.0\n",
        "bad.yaml:2:20: loss.label_smoothing: must be below 1.0 (got 1.0)",
    ),
    (
        "mixup alpha of 0",
        "augment:\n  mixup: {alpha: 0}\n",
        "bad.yaml:2:18: augment.mixup.alpha: must be above 0.0 (got 0)",
    ),
    (
        "cutmix probability above 1",
        "augment:\n  cutmix:\n    alpha: 1.0\n    p: 2\n",
        "bad.yaml:4:8: augment.cutmix.p: must be at most 1.0 (got 2)",
    ),
    ("empty section", "data:\n", "bad.yaml:1:1: data: is empty: give its keys, or remove the line"),
    (
        "section that is not a mapping",
        "schedule: 5\n",
        "bad.yaml:1:11: schedule: expected a mapping of keys, got 5",
    ),
    ("huge file", "# " + "x" * (1024 * 1024 + 10) + "\n", "bad.yaml: file is over 1,048,576 bytes"),
    ("NUL byte", "name: a\x00\n", "bad.yaml: contains NUL bytes"),
]


@pytest.mark.parametrize(("content", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_preset_is_located_and_exits_2(content: str | bytes, expected: str) -> None:
    path = Path("bad.yaml")
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")

    result = CliRunner().invoke(cli, ["validate", "bad.yaml"])

    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # no exception escaped the command
    assert "Traceback" not in result.output
    assert expected in result.output
    assert not Path("pwned").exists()


def test_cases_are_at_least_25_distinct_kinds() -> None:
    assert len({c[0] for c in CASES}) >= 25


def test_all_problems_are_reported_at_once() -> None:
    Path("bad.yaml").write_text(
        "name: x\nfoo: 1\nschedule:\n  epochs: 0\n  batch_size: -1\noptimizer: {name: adma}\n"
    )

    result = CliRunner().invoke(cli, ["validate", "bad.yaml"])

    lines = [line for line in result.output.splitlines() if line.startswith("bad.yaml:")]
    assert [line.split(": ")[1] for line in lines] == [
        "foo",
        "schedule.epochs",
        "schedule.batch_size",
        "optimizer.name",
    ]


def test_good_and_bad_presets_together_report_only_the_bad(tmp_path: Path) -> None:
    Path("good.yaml").write_text(GOOD)
    Path("bad.yaml").write_text("name: x\nfoo: 1\n")

    result = CliRunner().invoke(cli, ["validate", "good.yaml", "bad.yaml"])

    assert result.exit_code == 2
    assert "good.yaml: ok" in result.output
    assert "bad.yaml:2:1: foo: unknown key" in result.output


def test_missing_file_and_folder_are_bad_input() -> None:
    Path("folder.yaml").mkdir()
    result = CliRunner().invoke(cli, ["validate", "nope.yaml", "folder.yaml"])
    assert result.exit_code == 2
    assert "nope.yaml: no such file (built-in presets: mobilenetv2, quickstart, resnet50)" in (
        result.output
    )
    assert "folder.yaml: is a folder, not a preset file" in result.output


# --- files that are not preset files ------------------------------------------------------------
# Run in a child with a timeout and a memory limit: before the checks, `validate` of a FIFO waited
# forever for a writer and `validate /dev/zero` read until memory ran out.

_LIMITED = """\
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
from hw3tui.cli import cli
cli.main(sys.argv[1:], prog_name="hw3tui")
"""


def _validate_in_child(path: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _LIMITED, "validate", path],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: os.mkfifo(p), "p.yaml: a FIFO, not a regular file"),
        (lambda p: p.symlink_to("/dev/zero"), "p.yaml: a device, not a regular file"),
        (
            lambda p: os.truncate(p.touch() or p, 64 << 30),  # sparse: 64 GiB of nothing
            "p.yaml: file is over 1,048,576 bytes (the most a preset or sweep file may hold)",
        ),
    ],
    ids=["fifo", "dev-zero", "sparse-64GiB"],
)
def test_validate_of_what_is_not_a_preset_file_is_one_line(
    make: Callable[[Path], object], message: str, subprocess_env: dict[str, str]
) -> None:
    make(Path("p.yaml"))
    done = _validate_in_child("p.yaml", subprocess_env)
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"error: {message}\n"


def test_validate_of_dev_zero_itself(subprocess_env: dict[str, str]) -> None:
    done = _validate_in_child("/dev/zero", subprocess_env)
    assert done.returncode == 2, done.stderr
    assert done.stderr == "error: /dev/zero: a device, not a regular file\n"


@pytest.mark.timeout(30)
def test_the_editor_and_sweep_files_read_presets_the_same_way() -> None:
    """The TUI's editor and `hw3tui sweep` read through the same `read_file`: a FIFO is refused,
    never waited on."""
    from hw3tui.preset import PresetError
    from hw3tui.sweeps.file import is_sweep_file, load_sweep
    from hw3tui.tui.document import PresetDocument

    os.mkfifo("p.yaml")
    for read in (PresetDocument.open, load_sweep):
        with pytest.raises(PresetError, match=r"p\.yaml: a FIFO, not a regular file"):
            read(Path("p.yaml"))
    assert not is_sweep_file(Path("p.yaml"))
