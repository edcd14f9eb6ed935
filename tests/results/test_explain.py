"""`hw3tui.results.explain` on evaluations made up here: flips by index, per-class changes that
add up, and why two runs cannot be explained (no training, no torch)."""

from __future__ import annotations

from pathlib import Path

from hw3tui.results.comparison import Comparison, load_side
from hw3tui.results.eval_report import EvalReport
from hw3tui.results.explain import Evaluated, explain, val_set_problem
from hw3tui.runs import RunDir

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny.yaml"
CLASSES = ["circle", "square", "triangle"]
LABELS = [0, 0, 0, 1, 1, 1, 2, 2, 2]


def run(path: Path, old: str = "", new: str = "") -> RunDir:
    """A run folder holding tests/data/tiny.yaml as its frozen preset, `old` replaced by `new`."""
    path.mkdir(parents=True)
    text = TINY.read_text().replace(old, new) if old else TINY.read_text()
    RunDir(path).preset_file.write_text(text)
    return RunDir(path)


def evaluated(
    predicted: list[int], *, val_set: str = "v", classes: list[str] = CLASSES
) -> Evaluated:
    count = len(classes)
    confusion = [[0] * count for _ in range(count)]
    for t, p in zip(LABELS, predicted, strict=True):
        confusion[t][p] += 1
    right = sum(t == p for t, p in zip(LABELS, predicted, strict=True))
    report = EvalReport(classes, confusion, right / len(LABELS), None, {}, "val")
    return Evaluated(report, LABELS, predicted, val_set)


def test_flips_and_per_class_changes(tmp_path: Path) -> None:
    sides = [
        load_side(run(tmp_path / "a")),
        load_side(run(tmp_path / "b", "lr: 0.001", "lr: 0.01")),
    ]
    a = evaluated([0, 0, 1, 1, 2, 2, 2, 2, 2])
    b = evaluated([0, 1, 1, 1, 1, 1, 2, 2, 0])
    found = explain(("a", "b"), Comparison(sides), a, b)
    assert [f.index for f in found.broke] == [1, 8]
    assert [f.index for f in found.fixed] == [4, 5]
    assert (found.broke[0].true, found.broke[0].before, found.broke[0].after) == (
        "circle",
        "circle",
        "square",
    )
    # square +2/3, circle -1/3, triangle -1/3: the largest change first
    assert [(c.name, c.gained) for c in found.classes] == [
        ("square", 2),
        ("circle", -1),
        ("triangle", -1),
    ]
    assert sum(c.gained for c in found.classes) == len(found.fixed) - len(found.broke)
    assert [c.field for c in found.changes] == ["schedule.lr"]
    assert found.as_json()["accuracy"]["delta"] == 0.0


def test_why_two_runs_are_not_on_one_val_set(tmp_path: Path) -> None:
    sides = [load_side(run(tmp_path / "a")), load_side(run(tmp_path / "b", "seed: 0", "seed: 1"))]
    comparison = Comparison(sides)
    same = evaluated(LABELS)
    assert val_set_problem(("a", "b"), comparison, (same, evaluated(LABELS))) is None
    other = evaluated(LABELS, val_set="w")
    problem = val_set_problem(("a", "b\x1b[2J"), comparison, (same, other))
    assert problem is not None
    assert "seed 0 → 1" in problem and "\x1b" not in problem
    renamed = evaluated(LABELS, classes=["circle", "square", "star"])
    problem = val_set_problem(("a", "b"), comparison, (same, renamed))
    assert problem is not None and "different classes" in problem and "star" in problem
