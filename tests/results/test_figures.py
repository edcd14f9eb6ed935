"""Figure code on data handed to it: files at the requested size, not blank, showing the values."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from hw3tui.results.eval_report import EvalReport
from hw3tui.results.figures import (
    Curve,
    Size,
    comparison_figure,
    curves_figure,
    save_figure,
    schedules_figure,
)
from hw3tui.results.figures_eval import (
    augment_figure,
    confusion_figure,
    misclassified_figure,
    per_class_figure,
)
from hw3tui.results.report import RunSection, report_markdown
from hw3tui.runs.history import RunHistory, history_of

SIZE = Size(640, 420, 80)


def events(epochs: int) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = [
        {"type": "run_start", "preset": "demo", "device": "cpu", "classes": ["a", "b"]}
    ]
    for e in range(epochs):
        lr, batch, wd = 0.01 / (e + 1), 16 * (1 + e // 2), 0.0001 * e
        records.append(
            {"type": "epoch_start", "epoch": e, "lr": lr, "batch_size": batch, "weight_decay": wd}
        )
        records.append(
            {
                "type": "epoch_end",
                "epoch": e,
                "train_loss": 1.0 / (e + 1),
                "train_acc": 0.5 + 0.1 * e,
                "val_loss": 1.2 / (e + 1),
                "val_acc": [0.4, 0.7, 0.6, 0.65][e % 4],
                "lr": lr,
                "batch_size": batch,
                "weight_decay": wd,
            }
        )
    return records


def decoded(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.size == (SIZE.width, SIZE.height)
        return np.asarray(image.convert("L"), dtype=np.float64)


def assert_drawn(path: Path) -> None:
    assert decoded(path).var() > 50, f"{path.name} looks blank"


REPORT = EvalReport(
    classes=["cat", "dog", "f$x"],
    confusion=[[7, 2, 1], [3, 11, 0], [0, 4, 13]],
    accuracy=31 / 41,
    loss=0.5,
    checkpoint={},
    data="val",
)


def test_curves_and_comparison_pngs_at_the_requested_size(tmp_path: Path) -> None:
    history = history_of(events(4))
    figure = curves_figure(history, SIZE, "demo")
    assert_drawn(save_figure(figure, tmp_path / "curves.png", SIZE))
    acc_ax = figure.axes[1]
    val = next(line for line in acc_ax.lines if line.get_label() == "val acc")
    assert list(val.get_ydata()) == [0.4, 0.7, 0.6, 0.65]
    best = next(line for line in acc_ax.lines if str(line.get_label()).startswith("best epoch"))
    assert list(best.get_xdata()) == [1, 1]  # the best val acc epoch is marked
    other = history_of(events(3))
    curves = [
        Curve("lr=0.01", *history.series("val_acc")),
        Curve("lr=0.1", *other.series("val_acc")),
    ]
    compare = comparison_figure(curves, SIZE)
    assert_drawn(save_figure(compare, tmp_path / "compare.png", SIZE))
    assert [t.get_text() for t in compare.axes[0].get_legend().get_texts()] == ["lr=0.01", "lr=0.1"]


def test_curves_show_the_raw_weights_beside_an_ema_runs_val(tmp_path: Path) -> None:
    records = events(2)
    ends = [r for r in records if r["type"] == "epoch_end"]
    for record, raw in zip(ends, [0.3, 0.5], strict=True):
        record.update(val_acc_raw=raw, val_loss_raw=2.0)
    figure = curves_figure(history_of(records), SIZE, "demo")
    lines = {str(line.get_label()): list(line.get_ydata()) for line in figure.axes[1].lines}
    # the run's val acc is the average's (what best/ holds): its label says so
    assert lines["val acc (ema: best/)"] == [0.4, 0.7]
    assert lines["val acc (raw weights)"] == [0.3, 0.5]
    assert "val loss (raw weights)" in [str(line.get_label()) for line in figure.axes[0].lines]
    plain = curves_figure(history_of(events(2)), SIZE, "").axes[1].lines
    assert [str(line.get_label()) for line in plain][:2] == ["train acc", "val acc"]


def test_schedule_figure_shows_the_epoch_start_values(tmp_path: Path) -> None:
    records = events(4)
    figure = schedules_figure(history_of(records), SIZE, "demo")
    assert_drawn(save_figure(figure, tmp_path / "schedules.png", SIZE))
    starts = [r for r in records if r["type"] == "epoch_start"]
    for ax, name in zip(figure.axes, ["lr", "batch_size", "weight_decay"], strict=True):
        (line,) = ax.lines
        assert list(line.get_xdata()) == [r["epoch"] for r in starts]
        assert list(line.get_ydata()) == [r[name] for r in starts]


def test_a_run_without_epochs_still_draws_and_says_so(tmp_path: Path) -> None:
    history = RunHistory().extend(events(0))
    path = save_figure(curves_figure(history, SIZE, "demo"), tmp_path / "c.svg", SIZE, "svg")
    assert "no finished epoch yet" in path.read_text()


def test_confusion_svg_holds_the_counts_and_names(tmp_path: Path) -> None:
    path = save_figure(confusion_figure(REPORT, SIZE, "demo"), tmp_path / "c.svg", SIZE, "svg")
    svg = path.read_text()
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    counts = [int(t) for t in texts if t.strip().isdigit()]
    cells = [n for row in REPORT.confusion for n in row]
    assert counts[: len(cells)] == cells  # the count panel's cells, row by row
    assert "f$x" in svg  # a class name is text, not a formula
    png = save_figure(confusion_figure(REPORT, SIZE, "demo"), tmp_path / "c.png", SIZE)
    assert_drawn(png)


@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_per_class_bars(tmp_path: Path, fmt: str) -> None:
    figure = per_class_figure(REPORT, SIZE, "demo")
    heights = [bar.get_height() for bar in figure.axes[0].patches]
    assert heights == pytest.approx([0.7, 11 / 14, 13 / 17])
    path = save_figure(figure, tmp_path / f"bars.{fmt}", SIZE, fmt)  # type: ignore[arg-type]
    if fmt == "png":
        assert_drawn(path)
    else:
        assert path.read_bytes().startswith(b"%PDF")


def test_image_grids(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (5, 16, 16, 3), dtype=np.uint8)
    wrong = misclassified_figure(images, ["a"] * 5, ["b"] * 5, SIZE, "demo")
    assert_drawn(save_figure(wrong, tmp_path / "wrong.png", SIZE))
    grid = augment_figure(images[:2], images[None, :3].repeat(2, 0), ["a", "b"], SIZE, "demo")
    assert_drawn(save_figure(grid, tmp_path / "grid.png", SIZE))


def test_report_table_escapes_cells_and_links_relatively() -> None:
    section = RunSection(
        name="run|1",
        values=["0.01"],
        best=(0.75, 3),
        epochs_done=4,
        epochs_planned=5,
        duration=65,
        device="cpu",
        state="done",
        figures=[("curves", "run|1/curves.png")],
        notes="why\nbecause",
        pieces=["m.safetensors.000", "m.safetensors.001"],
        joined="m.safetensors",
    )
    text = report_markdown([section], ["schedule.lr"])
    assert "| run\\|1 | 0.01 | 0.7500 | 3 | 4/5 | 1m05s | cpu | done |" in text
    assert "![curves](<run%7C1/curves.png>)" in text  # percent-encoded: one link
    assert "> why\n> because" in text
    assert "cat m.safetensors.* > m.safetensors" in text


def test_readme_figures_are_checked_in_small_pngs() -> None:
    repo = Path(__file__).resolve().parents[2]
    links = re.findall(r"\]\((docs/figures/[^)]+\.png)\)", (repo / "README.md").read_text())
    kinds = ("augment", "curves", "schedules", "confusion", "per_class", "misclassified", "val_acc")
    drawn = {f"docs/figures/{kind}.png" for kind in kinds}
    assert drawn <= set(links)  # the run figures `hw3tui plot` draws, each shown
    for link in links:
        path = repo / link
        assert path.stat().st_size < 300_000, link
        with Image.open(path) as image:
            assert image.format == "PNG", link
            if link in drawn:  # drawn by the documented command at its documented size
                assert image.size == (720, 450), link
