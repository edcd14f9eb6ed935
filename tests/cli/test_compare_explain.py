"""`hw3tui compare A B --explain`: why B beat A, from both best checkpoints on one val set.

Two 1-epoch runs of tests/data/tiny.yaml (SGD, then AdamW; the same seed, so the same val set)
are trained once for the module. The flips are checked against a recomputation made here: each
checkpoint run through the engine's own evaluation loop, its outputs' argmax against the labels.
"""

from __future__ import annotations

import json
import shutil
import types
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from hw3tui.cli import cli

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny.yaml"


def hw3tui(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> types.SimpleNamespace:
    """`a` (SGD) and `b` (AdamW): one epoch each, seed 0, started in `root`."""
    root = tmp_path_factory.mktemp("explain")
    runs_dir = root / "runs"
    made: dict[str, Path] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("XDG_CACHE_HOME", str(root / "cache"))
        for key, optimizer in (("a", "sgd"), ("b", "adamw")):
            before = set(runs_dir.iterdir()) if runs_dir.is_dir() else set()
            sets = ["schedule.epochs=1", f"optimizer.name={optimizer}", f"name={key}"]
            pairs = [x for s in sets for x in ("--set", s)]
            result = hw3tui("run", TINY, "--runs-dir", runs_dir, *pairs)
            assert result.exit_code == 0, result.output
            (made[key],) = set(runs_dir.iterdir()) - before
    return types.SimpleNamespace(root=root, **made)


def explained(pair: types.SimpleNamespace, out: Path) -> dict[str, Any]:
    result = hw3tui("compare", pair.a, pair.b, "--explain", "--json", "-o", out)
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def recomputed(run: Path) -> tuple[list[int], list[int]]:
    """(labels, predictions) of the run's best checkpoint on its val set, by index: the engine's
    evaluation loop over the run's own split, watched here."""
    from hw3tui.engine.inference import evaluation
    from hw3tui.runs import resolve_checkpoint

    trained = evaluation.load_trained(resolve_checkpoint(run, run.parent))
    split = evaluation.in_checkpoint_order(
        evaluation.labelled_images(trained, None), trained.classes
    )
    job = evaluation.eval_job(trained, split)
    recording = evaluation.Recording(job.model, total=len(split))
    evaluation.run_through(job, recording)
    return split.labels.tolist(), recording.outputs().argmax(1).tolist()


def test_the_flipped_images_are_those_of_both_checkpoints_predictions(
    pair: types.SimpleNamespace, tmp_path: Path
) -> None:
    found = explained(pair, tmp_path / "out")
    labels, before = recomputed(pair.a)
    labels_b, after = recomputed(pair.b)
    assert labels == labels_b
    broke = [i for i, t in enumerate(labels) if before[i] == t and after[i] != t]
    fixed = [i for i, t in enumerate(labels) if before[i] != t and after[i] == t]
    flips = found["flips"]
    assert [f["index"] for f in flips["right_to_wrong"]] == broke
    assert [f["index"] for f in flips["wrong_to_right"]] == fixed
    assert found["images"] == len(labels)
    right = (
        sum(p == t for p, t in zip(before, labels, strict=True)),
        sum(p == t for p, t in zip(after, labels, strict=True)),
    )
    assert (found["correct"]["a"], found["correct"]["b"]) == right
    figure = Path(found["figure"])
    assert figure.parent == tmp_path / "out"
    assert figure.read_bytes().startswith(b"\x89PNG")


def test_per_class_changes_add_up_to_the_flips(pair: types.SimpleNamespace, tmp_path: Path) -> None:
    found = explained(pair, tmp_path)
    per_class = found["per_class"]
    gained = sum(c["correct"]["b"] - c["correct"]["a"] for c in per_class)
    flips = found["flips"]
    assert gained == len(flips["wrong_to_right"]) - len(flips["right_to_wrong"])
    assert gained == found["correct"]["b"] - found["correct"]["a"]
    assert sum(c["images"] for c in per_class) == found["images"]
    assert found["accuracy"]["delta"] == pytest.approx(gained / found["images"])
    sizes = [abs(c["change"]) for c in per_class]
    assert sizes == sorted(sizes, reverse=True)
    assert [c["field"] for c in found["preset_changes"]] == ["name", "optimizer.name"]
    assert [e["epoch"] for e in found["epochs"]] == [0]


def test_explain_prints_every_part(pair: types.SimpleNamespace, tmp_path: Path) -> None:
    result = hw3tui("compare", pair.a, pair.b, "--explain", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    for heading in (
        "Preset changes (A → B)",
        "optimizer.name: sgd → adamw",
        "Val acc per epoch",
        "Per-class accuracy",
        "right → wrong:",
        "wrong → right:",
    ):
        assert heading in result.output
    (figure,) = tmp_path.glob("flips_*_vs_*.png")
    assert f"figure: {figure}" in result.output


def test_runs_validated_on_different_images_exit_2(
    pair: types.SimpleNamespace, tmp_path: Path
) -> None:
    # the same run, its preset telling another seed: the shapes of its val set are others
    other = tmp_path / "runs" / "other-seed"
    shutil.copytree(pair.b, other)
    preset = other / "preset.yaml"
    preset.write_text(preset.read_text().replace("seed: 0", "seed: 1"))
    result = hw3tui("compare", pair.a, other, "--explain", "-o", tmp_path / "out")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "validated on different images" in lines[0]
    assert "seed 0 → 1" in lines[0]
    assert not (tmp_path / "out").exists()


def test_explain_compares_two_runs(pair: types.SimpleNamespace) -> None:
    result = hw3tui("compare", pair.a, pair.b, pair.a.parent / "nope", "--explain")
    assert result.exit_code == 2
    result = hw3tui("compare", pair.a, pair.b, pair.b, "--explain")
    assert result.exit_code == 2
    result = hw3tui("compare", pair.a, pair.b, "-o", "somewhere")
    assert result.exit_code == 2
    assert "--explain" in result.output


def test_the_report_explains_each_pair_it_compares(
    pair: types.SimpleNamespace, tmp_path: Path
) -> None:
    found = explained(pair, tmp_path / "explain")
    result = hw3tui("report", pair.a, pair.b, "-o", tmp_path / "report")
    assert result.exit_code == 0, result.output
    report = (tmp_path / "report" / "report.md").read_text()
    why = report.split("## Why B beat A\n", 1)[1]
    assert why.startswith("\n### ")
    assert f"A = `{pair.a.name}`, B = `{pair.b.name}`" in why
    flips = found["flips"]
    counts = f"{len(flips['right_to_wrong'])} right → wrong, {len(flips['wrong_to_right'])} wrong"
    assert f"Flipped val images: {counts}" in why
    assert "![flipped val images](<flips-1.png>)" in why
    assert (tmp_path / "report" / "flips-1.png").read_bytes().startswith(b"\x89PNG")


def test_names_reach_the_terminal_and_the_file_name_escaped(
    pair: types.SimpleNamespace, tmp_path: Path
) -> None:
    evil = tmp_path / "runs" / "b\x1b[2Jcleared"
    shutil.copytree(pair.b, evil)
    result = hw3tui("compare", pair.a, evil, "--explain", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    assert "b\\x1b[2Jcleared" in result.output
    assert [p.name for p in (tmp_path / "out").iterdir()] == [
        f"flips_{pair.a.name}_vs_b-2Jcleared.png"
    ]
