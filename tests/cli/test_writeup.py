"""`hw3tui plot`, `augment -o`, `note` and `report` on tiny runs trained once for this module."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner, Result
from PIL import Image

from hw3tui.cli import cli
from hw3tui.engine.data.augment import Preprocess
from hw3tui.engine.data.datasets import load_dataset
from hw3tui.engine.inference.augment_preview import augment_preview
from hw3tui.preset import load_preset
from hw3tui.results import figures_eval
from hw3tui.runs import RunDir
from tests.tiny import BEST

pytestmark = pytest.mark.slow  # the module's runs are trained end to end

FIGURES = ("curves", "schedules", "confusion", "per_class", "misclassified")


def invoke(root: Path, *args: str) -> Result:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        return CliRunner().invoke(cli, list(args))


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_plot_writes_every_figure_at_the_requested_size(finished_runs: Any) -> None:
    root = finished_runs.root
    runs = [str(finished_runs.shapes), str(finished_runs.faster)]
    result = invoke(root, "plot", *runs, "-o", "figs", "--size", "700x450")
    assert result.exit_code == 0, result.output
    for run in (finished_runs.shapes, finished_runs.faster):
        for kind in FIGURES:
            image = pixels(root / "figs" / run.name / f"{kind}.png")
            assert image.shape == (450, 700, 3), kind
            assert image.var() > 50, f"{kind} looks blank"
    comparison = pixels(root / "figs" / "val_acc.png")
    assert comparison.shape == (450, 700, 3) and comparison.var() > 50


def test_confusion_figure_counts_are_evals(
    finished_runs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, run = finished_runs.root, str(finished_runs.folder)
    handed: list[Any] = []
    drawn = figures_eval.confusion_figure

    def spy(report: Any, *args: Any, **kwargs: Any) -> Any:
        handed.append(report)
        return drawn(report, *args, **kwargs)

    monkeypatch.setattr(figures_eval, "confusion_figure", spy)
    result = invoke(root, "plot", run, "-o", "svgs", "--format", "svg")
    assert result.exit_code == 0, result.output
    evaluated = invoke(root, "eval", run, "--json")
    assert evaluated.exit_code == 0, evaluated.output
    expected = json.loads(evaluated.output[evaluated.output.index("{") :])
    (report,) = handed
    assert report.confusion == expected["confusion"]
    assert report.classes == expected["classes"]
    svg = (root / "svgs" / finished_runs.folder.name / "confusion.svg").read_text()
    numbers = [int(t) for t in re.findall(r"<text[^>]*>\s*(\d+)\s*</text>", svg)]
    cells = [n for row in expected["confusion"] for n in row]
    assert numbers[: len(cells)] == cells
    assert all(f">{name}<" in svg for name in expected["classes"])


def test_unknown_run_is_one_line_exit_2(finished_runs: Any) -> None:
    for command in (["plot", "nope", "-o", "x"], ["report", "nope", "-o", "x"]):
        result = invoke(finished_runs.root, *command)
        assert result.exit_code == 2
        assert result.output.strip() == "error: nope: no such run or sweep (in runs/)"
    result = invoke(finished_runs.root, "note", "nope", "why")
    assert result.exit_code == 2 and result.output.count("\n") == 1


def bare_copy(run: Path, target: Path) -> Path:
    """A copy of a run folder without its best checkpoint and (optionally) epochs."""
    shutil.copytree(run, target, ignore=shutil.ignore_patterns("best", "state", ".lock"))
    return target


def test_run_without_epochs_or_checkpoint(finished_runs: Any, tmp_path: Path) -> None:
    copy = bare_copy(finished_runs.shapes, tmp_path / "early")
    events = copy / "events.jsonl"
    first = events.read_text().splitlines()[:2]  # run_start and the first epoch_start
    events.write_text("\n".join(first) + "\n")
    result = invoke(finished_runs.root, "plot", str(copy), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "no finished epoch yet" in result.output
    assert "no best checkpoint" in result.output
    written = sorted(p.name for p in (tmp_path / "out" / "early").iterdir())
    assert written == ["curves.png", "schedules.png"]
    report = invoke(finished_runs.root, "report", str(copy), "-o", str(tmp_path / "rep"))
    assert report.exit_code == 0, report.output
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "no best checkpoint: no confusion matrix" in text
    assert "confusion.png" not in text


def test_note_then_report_links_only_existing_files(finished_runs: Any) -> None:
    root = finished_runs.root
    note = invoke(root, "note", str(finished_runs.faster), "tried lr 0.01: | faster?")
    assert note.exit_code == 0, note.output
    assert "tried lr 0.01" in RunDir(finished_runs.faster).read_notes()
    runs = [str(finished_runs.shapes), str(finished_runs.faster)]
    result = invoke(root, "report", *runs, "-o", "report")
    assert result.exit_code == 0, result.output
    folder = root / "report"
    text = (folder / "report.md").read_text()
    links = re.findall(r"\]\(<([^>]+)>\)", text)
    assert len(links) == 2 * len(FIGURES) + 2  # and val_acc, and the pair's flipped images
    assert all(not Path(link).is_absolute() and (folder / link).is_file() for link in links)
    assert "> - " in text and "tried lr 0.01: | faster?" in text
    header = next(line for line in text.splitlines() if line.startswith("| run |"))
    assert "`schedule.lr`" in header  # what differs is a column (the Findings come first)
    assert f"cat ../runs/{finished_runs.faster.name}/best/{BEST}.* > " in text
    # a second report replaces the first whole; a folder that is not a report is refused
    again = invoke(root, "report", str(finished_runs.shapes), "-o", "report")
    assert again.exit_code == 0, again.output
    assert not (folder / finished_runs.faster.name).exists()
    assert not (folder / "flips-1.png").exists()
    (root / "mine").mkdir()
    (root / "mine" / "thesis.tex").write_text("keep")
    refused = invoke(root, "report", str(finished_runs.shapes), "-o", "mine")
    assert refused.exit_code == 2
    assert (root / "mine" / "thesis.tex").read_text() == "keep"


def test_augment_grid_is_what_trains(finished_runs: Any, tiny_preset: Path) -> None:
    overrides = ("augment.affine={degrees: 20}", "augment.random_crop={padding: 3}")
    preset = load_preset(tiny_preset, overrides).preset
    shown = augment_preview(preset, base_dir=Path.cwd(), images=3, draws=4)
    assert shown.draws.shape[:2] == (3, 4)
    for row in shown.draws:  # per-sample randomness: the draws of one image differ
        assert len({tile.tobytes() for tile in row}) == len(row)
    # the originals are the val transform's images, de-normalised
    dataset = load_dataset(preset.data, seed=preset.seed, base_dir=Path.cwd())
    assert dataset.train.images is not None
    val = Preprocess([], device=torch.device("cpu"), channels_last=False)
    every = val.to_pixels(val(dataset.train.images, None))
    for original in shown.originals:
        assert any(np.array_equal(original, image) for image in every)
    result = invoke(
        finished_runs.root,
        "augment",
        str(tiny_preset),
        "-o",
        "grid.png",
        "--size",
        "600x400",
        *(arg for o in overrides for arg in ("--set", o)),
    )
    assert result.exit_code == 0, result.output
    grid = pixels(finished_runs.root / "grid.png")
    assert grid.shape == (400, 600, 3) and grid.var() > 50


def test_a_report_names_the_checkpoint_relative_to_itself_never_by_absolute_path(
    finished_runs: Any, tmp_path: Path
) -> None:
    root, run = finished_runs.root, finished_runs.shapes
    # report and run in the working directory (a checkout): relative to report.md
    result = invoke(root, "report", str(run), "-o", "portable")
    assert result.exit_code == 0, result.output
    text = (root / "portable" / "report.md").read_text()
    assert str(root) not in text and str(tmp_path.parent) not in text
    relative = f"../runs/{run.name}/best"
    assert f"in `{relative}`" in text
    joined = BEST
    assert f"cat {relative}/{joined}.* > {joined}" in text
    assert (root / "portable" / relative / f"{joined}.000").is_file()
    # a report written elsewhere: the run is named, its folder is not
    result = invoke(tmp_path, "report", str(run), "-o", "elsewhere")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "elsewhere" / "report.md").read_text()
    assert str(root) not in text and str(tmp_path.parent) not in text
    assert f"the `best/` folder of run `{run.name}`" in text
    assert f"cat {joined}.* > {joined}" in text


def test_a_second_report_evaluates_nothing_until_best_changes(
    finished_runs: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hw3tui.engine.inference import evaluation

    passes: list[str] = []
    real = evaluation.run_through

    def counted(*args: Any) -> Any:
        passes.append("evaluated")  # the engine's pass over the val images
        return real(*args)

    monkeypatch.setattr(evaluation, "run_through", counted)
    run = tmp_path / "runs" / finished_runs.shapes.name
    shutil.copytree(finished_runs.shapes, run, ignore=shutil.ignore_patterns("eval"))
    first = invoke(tmp_path, "report", str(run), "-o", "one")
    assert first.exit_code == 0, first.output
    assert len(passes) == 1
    second = invoke(tmp_path, "report", str(run), "-o", "two")
    assert second.exit_code == 0, second.output
    assert len(passes) == 1, "the second report evaluated the checkpoint again"
    for kind in ("confusion", "per_class", "misclassified"):
        before, after = (
            pixels(tmp_path / out / run.name / f"{kind}.png") for out in ("one", "two")
        )
        assert np.array_equal(before, after), kind
    # eval RUN reads it too; other options evaluate afresh, to the same numbers
    cached = invoke(tmp_path, "eval", str(run), "--json")
    fresh = invoke(tmp_path, "eval", str(run), "--json", "--device", "cpu")
    assert cached.exit_code == fresh.exit_code == 0, cached.output + fresh.output
    assert len(passes) == 2
    as_read, as_evaluated = (json.loads(r.output[r.output.index("{") :]) for r in (cached, fresh))
    assert as_read["confusion"] == as_evaluated["confusion"]
    assert as_read["accuracy"] == as_evaluated["accuracy"]
    # a hand-edited (untrustworthy) evaluation is evaluated again, not drawn
    (stored,) = (run / "eval").glob("*.json")
    stored.write_text(stored.read_text().replace('"accuracy":', '"accuracy":0.999,"x":', 1))
    invoke(tmp_path, "plot", str(run), "-o", "three")
    assert len(passes) == 3
    # a new best checkpoint (new SHA256SUMS): evaluated again, and only its evaluation kept
    shutil.rmtree(run / "best")
    shutil.copytree(finished_runs.faster / "best", run / "best")
    third = invoke(tmp_path, "report", str(run), "-o", "four")
    assert third.exit_code == 0, third.output
    assert len(passes) == 4
    from hw3tui.runs.evaluations import checkpoint_key

    key = checkpoint_key(RunDir(run))  # the new best/'s SHA256SUMS (and the run's preset)
    assert key is not None
    assert sorted(p.name for p in (run / "eval").iterdir()) == [f"{key}.json", f"{key}.npy"]


def test_augment_grid_shows_cutmix_pairs(tiny_preset: Path) -> None:
    overrides = ("augment.horizontal_flip=0", "augment.cutmix={alpha: 1.0, p: 1.0}")
    preset = load_preset(tiny_preset, overrides).preset
    shown = augment_preview(preset, base_dir=Path.cwd(), images=3, draws=4)
    # each draw of image i pastes a box of image i-1 (its neighbour in the batch) into it
    for i, row in enumerate(shown.draws):
        own, neighbour = shown.originals[i], shown.originals[i - 1]
        for tile in row:
            assert ((tile == own) | (tile == neighbour)).all()
        assert any((tile != own).any() for tile in row)
