"""`hw3tui findings`: sentences computed from run folders, each number traceable to its source.

Runs are written by hand (preset, events.jsonl, status.json): no training, no torch.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from hw3tui.cli import cli
from hw3tui.results.findings import GAP, MIN_EPOCHS, PATIENCE
from hw3tui.runs import RunDir
from hw3tui.runs.status import Status

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny.yaml"
RULES = {"GAP": GAP, "MIN_EPOCHS": MIN_EPOCHS, "PATIENCE": PATIENCE}

LR = {0: 0.01, 4: 0.001, 7: 0.0001}
"""A by-epoch lr: two change points."""


def lr_at(epoch: int) -> float:
    return LR[max(e for e in LR if e <= epoch)]


def write_run(
    path: Path,
    *,
    train_loss: list[float],
    val_loss: list[float],
    train_acc: list[float] | None = None,
    val_acc: list[float] | None = None,
    val_acc_raw: list[float] | None = None,
    seed: int = 0,
) -> RunDir:
    """A finished run whose epochs have these metrics, a by-epoch lr (`LR`), and status.json
    keeping the best val acc."""
    epochs = len(train_loss)
    train_acc = train_acc or [min(0.99, 0.5 + 0.05 * e) for e in range(epochs)]
    val_acc = val_acc or VAL_ACC[:epochs]
    run = RunDir(path)
    path.mkdir(parents=True)
    run.preset_file.write_text(TINY.read_text().replace("seed: 0", f"seed: {seed}"))
    run.append_event(
        {"type": "run_start", "time": 0.0, "preset": "tiny", "device": "cpu", "epochs": epochs}
    )
    for e in range(epochs):
        lr = lr_at(e)
        start = {"type": "epoch_start", "time": float(e), "epoch": e, "lr": lr}
        run.append_event(start | {"batch_size": 16, "weight_decay": 0.0, "steps": 3})
        run.append_event(
            {
                "type": "epoch_end",
                "time": e + 0.5,
                "epoch": e,
                "train_loss": train_loss[e],
                "train_acc": train_acc[e],
                "seconds": 0.5,
                "images_per_s": 96.0,
                "val_loss": val_loss[e],
                "val_acc": val_acc[e],
                "lr": lr,
                "batch_size": 16,
                "weight_decay": 0.0,
            }
            | ({"val_acc_raw": val_acc_raw[e]} if val_acc_raw else {})
        )
    best_epoch = max(range(epochs), key=lambda e: (val_acc[e], -e))
    best = {
        "epoch": best_epoch,
        "metric": "val_acc",
        "value": val_acc[best_epoch],
        "path": "best/x",
    }
    status = {"state": "done", "pid": None, "started": 0.0, "ended": 9.0, "epochs": epochs}
    run.write_status(Status.from_json(status | {"epochs_done": epochs, "best": best}))
    return run


VAL_ACC = [0.47 + 0.045 * e - (0.02 if e % 3 == 2 else 0.0) for e in range(12)]
"""Val acc of every run but one: a little below train acc (never by `GAP`), a little noisy."""
FALLING = [2.0 - 0.15 * e for e in range(12)]
"""Train loss of every run: it keeps falling."""
OVERFIT_VAL = [1.5, 1.3, 1.1, 1.0, 0.9, 0.95, 1.02, 0.98, 1.1, 1.2, 1.3, 1.4]
"""Val loss at its lowest at epoch 4, above it from epoch 5 on (epoch 7 a noisy dip that still
stays above the lowest)."""
CLEAN_VAL = [1.5, 1.3, 1.1, 1.0, 0.9, 0.85, 1.3, 0.8, 0.75, 0.72, 0.7, 0.69]
"""Val loss falling all along but for one noisy epoch (6): no overfitting."""


def hw3tui(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def findings(*args: str | Path) -> list[dict[str, Any]]:
    result = hw3tui("findings", *args, "--json", "--no-eval")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["format"] == 1
    found: list[dict[str, Any]] = data["findings"]
    return found


def read_source(root: Path, source: dict[str, Any]) -> float:
    """The value a source names, read straight from the file."""
    if "rule" in source:
        return RULES[source["rule"]]
    if "sweep" in source:
        with (root / source["sweep"] / source["file"]).open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        key = "config" if "config" in source else "variant"
        (row,) = [r for r in rows if r[key] == source[key]]
        return float(row[source["field"]])
    folder = root / source["run"]
    if "file" in source:
        value: Any = json.loads((folder / source["file"]).read_text())
        for part in source["field"].split("."):
            value = value[part]
        return float(value)
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    events = [e for e in events if e["type"] == source["event"]]
    if source["field"] == "count":
        return len(events)
    if "epoch" in source:
        events = [e for e in events if e["epoch"] == source["epoch"]]
    (event,) = events
    return float(event[source["field"]])


def check(root: Path, number: dict[str, Any]) -> None:
    """`number` equals its source, or the arithmetic of its operands (each checked too)."""
    if "source" in number:
        assert number["value"] == read_source(root, number["source"]), number
        return
    operands = [o["value"] for o in number["from"]]
    for operand in number["from"]:
        check(root, operand)
    kind = number["derived"]
    if kind == "difference":
        expected = operands[0] - operands[1]
    elif kind == "ratio":
        expected = operands[0] / operands[1]
    elif kind == "mean":
        expected = math.fsum(operands) / len(operands)
    elif kind == "std":
        expected = statistics.stdev(operands)
    else:
        assert kind == "count"
        expected = len(operands)
    assert number["value"] == pytest.approx(expected, rel=1e-12), number


def test_every_number_of_every_finding_equals_its_source(isolated: Path) -> None:
    runs = isolated / "runs"
    write_run(runs / "a", train_loss=FALLING, val_loss=OVERFIT_VAL)
    write_run(runs / "b", train_loss=FALLING, val_loss=CLEAN_VAL, seed=1)
    found = findings(runs / "a", runs / "b")
    kinds = {f["kind"] for f in found}
    assert {"kept", "kept over seeds", "overfitting", "no overfitting", "schedule change"} <= kinds
    for finding in found:
        assert finding["numbers"], finding
        for number in finding["numbers"].values():
            check(runs, number)
    kept = next(f for f in found if f["kind"] == "kept" and f["subject"] == "a")
    assert kept["numbers"]["best"]["source"] == {
        "run": "a",
        "file": "status.json",
        "field": "best.value",
    }
    assert f"{kept['numbers']['best']['value']:.4f}" in kept["sentence"]


@pytest.mark.parametrize(("raw_offset", "words"), [(0.3, "behind them"), (-0.02, "ahead of them")])
def test_an_ema_run_says_how_far_the_average_is_from_the_raw_weights(
    isolated: Path, raw_offset: float, words: str
) -> None:
    """An ema.decay too slow for the run (measured: quickstart, decay 0.999, 450 steps: the
    average's 0.43 against the raw weights' 0.94) leaves best/ far behind: the finding says so."""
    runs = isolated / "runs"
    raw = [min(0.99, v + raw_offset) for v in VAL_ACC[:8]]
    write_run(runs / "e", train_loss=FALLING[:8], val_loss=CLEAN_VAL[:8], val_acc_raw=raw)
    write_run(runs / "plain", train_loss=FALLING[:8], val_loss=CLEAN_VAL[:8])
    found = findings(runs / "e", runs / "plain")
    (ema,) = [f for f in found if f["kind"] == "ema"]
    assert ema["subject"] == "e"
    for number in ema["numbers"].values():
        check(runs, number)
    epoch = int(ema["numbers"]["epoch"]["value"])
    assert ema["numbers"]["raw"]["value"] == raw[epoch]
    assert f"{raw[epoch]:.4f}" in ema["sentence"]
    assert words in ema["sentence"]
    assert f"{abs(ema['numbers']['difference']['value']):.4f} {words.split()[0]}" in ema["sentence"]


def test_a_sweeps_tables_are_quoted_cell_for_cell(isolated: Path) -> None:
    sweep = isolated / "sweeps" / "s"
    run = write_run(sweep / "runs" / "0", train_loss=FALLING[:3], val_loss=OVERFIT_VAL[:3])
    (sweep / "sweep.yaml").write_text("name: s\nbase: quickstart\n")  # what makes it a sweep
    (sweep / "configs.csv").write_text(
        "config,n,mean,std,min,max,delta,low,high,verdict,optimizer.name\n"
        "1,3,0.8,0.01,0.79,0.81,0,,,best,adamw\n"
        "0,3,0.7,0.02,0.68,0.72,-0.1,-0.15,-0.05,worse,sgd\n"
    )
    (sweep / "ablation.csv").write_text(
        "choice,variant,n,mean,std,delta,low,high,verdict\n"
        "full preset,as is,1,0.75,,,,,reference\n"
        "schedule.lr,schedule.lr constant 0.01,1,0.7,,-0.05,,,one seed\n"
    )
    found = findings(sweep)
    assert [f["kind"] for f in found if f["subject"] == "s"] == [
        "schedule ablated",
        "sweep configuration",
        "sweep configuration",
        "ablation reference",
        "ablation",
    ]
    for finding in found:
        for number in finding["numbers"].values():
            check(sweep.parent, number) if "sweep" in json.dumps(number) else check(
                run.path.parent, number
            )
    worse = next(f for f in found if f["kind"] == "sweep configuration" and "sgd" in f["sentence"])
    assert "-0.1000" in worse["sentence"] and "worse" in worse["sentence"]


def test_an_overfitting_run_is_found_at_the_epoch_val_loss_stopped_improving(
    isolated: Path,
) -> None:
    run = write_run(isolated / "over", train_loss=FALLING, val_loss=OVERFIT_VAL)
    (found,) = [f for f in findings(run.path) if f["section"] == "Overfitting"]
    assert found["kind"] == "overfitting" and found["facts"]["rule"] == "val_loss"
    numbers = {k: v["value"] for k, v in found["numbers"].items()}
    assert (numbers["start"], numbers["best"], numbers["end"]) == (5, 4, 11)
    assert (numbers["val_before"], numbers["val_after"]) == (0.9, 1.4)
    assert found["sentence"].startswith("Overfitting from epoch 5:")


def test_a_clean_run_with_one_noisy_epoch_is_not_overfitting(isolated: Path) -> None:
    run = write_run(isolated / "clean", train_loss=FALLING, val_loss=CLEAN_VAL)
    (found,) = [f for f in findings(run.path) if f["section"] == "Overfitting"]
    assert found["kind"] == "no overfitting"
    assert found["numbers"]["lowest"]["value"] == 0.69


def test_a_train_val_accuracy_gap_sustained_is_overfitting(isolated: Path) -> None:
    val_acc = [0.5, 0.6, 0.65, 0.7, 0.7, 0.7, 0.7, 0.7]
    train_acc = [0.5, 0.6, 0.7, 0.85, 0.9, 0.95, 0.97, 0.99]
    run = write_run(
        isolated / "gap",
        train_loss=FALLING[:8],
        val_loss=[*CLEAN_VAL[:6], 0.84, 0.83],
        train_acc=train_acc,
        val_acc=val_acc,
    )
    (found,) = [f for f in findings(run.path) if f["section"] == "Overfitting"]
    assert found["facts"]["rule"] == "acc_gap"
    assert found["numbers"]["start"]["value"] == 3  # gaps 0.15, 0.2, 0.25, ... from epoch 3


def test_too_few_epochs_are_said_not_taken_for_no_overfitting(isolated: Path) -> None:
    run = write_run(isolated / "short", train_loss=FALLING[:3], val_loss=OVERFIT_VAL[:3])
    (found,) = [f for f in findings(run.path) if f["section"] == "Overfitting"]
    assert found["kind"] == "too few epochs"
    assert found["numbers"]["epochs"]["value"] == 3


def test_a_by_epoch_lr_gets_one_finding_per_change_point(isolated: Path) -> None:
    run = write_run(isolated / "lr", train_loss=FALLING, val_loss=CLEAN_VAL)
    val_acc = VAL_ACC
    changes = [f for f in findings(run.path) if f["kind"] == "schedule change"]
    got = [
        (f["facts"]["schedule"], *(f["numbers"][k]["value"] for k in ("epoch", "before", "after")))
        for f in changes
    ]
    assert got == [("lr", 4, 0.01, 0.001), ("lr", 7, 0.001, 0.0001)]
    first = changes[0]["numbers"]
    assert first["acc_before"]["value"] == pytest.approx(sum(val_acc[1:4]) / 3)
    assert first["acc_after"]["value"] == pytest.approx(sum(val_acc[4:7]) / 3)
    second = changes[1]["numbers"]
    assert second["acc_before"]["value"] == pytest.approx(sum(val_acc[4:7]) / 3)
    assert second["acc_after"]["value"] == pytest.approx(sum(val_acc[7:10]) / 3)
    assert "changed from 0.01 to 0.001 at epoch 4" in changes[0]["sentence"]


def test_the_terminal_gets_sections_and_escaped_names(isolated: Path) -> None:
    run = write_run(isolated / "evil\x1b[2J", train_loss=FALLING, val_loss=OVERFIT_VAL)
    result = hw3tui("findings", run.path, "--no-eval")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    lines = result.output.splitlines()
    assert lines[0] == "Which epoch is kept"
    assert "Overfitting" in lines and "Schedules" in lines
    assert any(line.startswith("  evil\\x1b[2J: Overfitting from epoch 5:") for line in lines)


def test_report_md_opens_with_the_same_findings_before_the_runs(isolated: Path) -> None:
    write_run(isolated / "runs" / "over", train_loss=FALLING, val_loss=OVERFIT_VAL)
    result = hw3tui("report", "runs/over", "-o", "rep")
    assert result.exit_code == 0, result.output
    text = (isolated / "rep" / "report.md").read_text()
    assert text.index("## Findings") < text.index("| run |") < text.index("## over")
    (overfitting,) = [f for f in findings("runs/over") if f["section"] == "Overfitting"]
    assert f"- **over**: {overfitting['sentence']}" in text  # nothing to escape in it
    assert "### Which epoch is kept" in text and "### Schedules" in text
