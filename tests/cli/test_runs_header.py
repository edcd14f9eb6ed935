"""The result header of a run's frozen preset.yaml, on run directories written by hand."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from hw3tui.preset import validate_text
from hw3tui.runs import RunDir
from hw3tui.runs.header import (
    MARK,
    describe,
    result_lines,
    stamp_result,
    strip_result,
    with_result,
)
from hw3tui.runs.status import Status

REPO = Path(__file__).resolve().parents[2]
TINY = (REPO / "tests" / "data" / "tiny.yaml").read_text()
ENDED = 1_767_225_600.0  # 2026-01-01 00:00 UTC


def a_run(root: Path, *, val_accs: list[float], state: str = "done", epochs: int = 4) -> RunDir:
    run = RunDir(root / "tiny-20260101-000000")
    run.path.mkdir(parents=True)
    run.preset_file.write_text(TINY)
    run.append_event({"type": "run_start", "time": 0.0, "preset": "tiny", "epochs": epochs})
    for epoch, acc in enumerate(val_accs):
        run.append_event(
            {"type": "epoch_end", "time": 1.0, "epoch": epoch, "val_acc": acc, "val_loss": 1 - acc}
        )
    best_epoch = max(range(len(val_accs)), key=lambda e: (val_accs[e], -e)) if val_accs else None
    best = (
        None
        if best_epoch is None
        else {"epoch": best_epoch, "metric": "val_acc", "value": val_accs[best_epoch]}
    )
    run.append_event({"type": "run_end", "time": 2.0, "state": state, "best": best})
    run.write_status(
        Status.from_json(
            {"state": state, "ended": ENDED, "epochs": epochs, "best": best, "preset": "tiny"}
        )
    )
    return run


def test_the_header_leads_the_file_and_the_rest_stays_byte_for_byte(isolated: Path) -> None:
    run = a_run(isolated, val_accs=[0.5, 0.875, 0.75])
    assert stamp_result(run)
    text = run.preset_file.read_text()
    assert text.splitlines()[:2] == [
        f"{MARK} best val acc 0.8750 at epoch 1 (3/4 epochs, done)",
        f"{MARK} run tiny-20260101-000000 · hw3tui 0.1.0 · 2026-01-01 00:00 UTC",
    ]
    assert strip_result(text) == TINY
    assert validate_text(text, "preset.yaml").preset == validate_text(TINY, "t").preset


def test_a_run_that_ends_again_replaces_its_header(isolated: Path) -> None:
    run = a_run(isolated, val_accs=[0.5], state="cancelled")
    stamp_result(run)
    assert "(1/4 epochs, cancelled)" in run.preset_file.read_text()
    run.append_event({"type": "run_start", "time": 3.0, "epochs": 4})
    for epoch, acc in [(1, 0.6), (2, 0.9), (3, 0.7)]:
        run.append_event({"type": "epoch_end", "time": 4.0, "epoch": epoch, "val_acc": acc})
    run.write_status(replace(run.read_status() or Status(), state="done"))
    stamp_result(run)
    text = run.preset_file.read_text()
    assert result_lines(text)[0] == "best val acc 0.9000 at epoch 2 (4/4 epochs, done)"
    assert len(result_lines(text)) == 2 and text.count(MARK) == 2
    assert strip_result(text) == TINY


def test_what_the_header_says_in_other_cases() -> None:
    assert describe(best=None, state="failed", epochs_done=0, epochs=10, run="r", ended=None) == [
        "no finished epoch (0/10 epochs, failed)",
        "run r · hw3tui 0.1.0 · date unknown",
    ]
    by_loss = describe(
        best=(0.8, 3),
        state="done",
        epochs_done=5,
        epochs=5,
        run="r",
        ended=ENDED,
        checkpoint={"metric": "val_loss", "value": 0.25, "epoch": 4},
    )
    assert by_loss[0] == (
        "best val acc 0.8000 at epoch 3 (5/5 epochs, done); checkpoint: best val loss 0.2500 "
        "at epoch 4"
    )


def test_a_users_own_comments_that_look_alike_further_down_are_kept() -> None:
    text = "name: x\n" + f"{MARK} not a header: it is not at the top\n"
    stamped = with_result(text, ["a", "b"])
    assert stamped == f"{MARK} a\n{MARK} b\n" + text
    assert strip_result(stamped) == text


def test_no_preset_file_is_not_an_error(isolated: Path) -> None:
    run = RunDir(isolated / "r")
    run.path.mkdir()
    run.write_status(Status(state="failed"))
    assert stamp_result(run) is False
    assert json.loads(run.status_file.read_text())["state"] == "failed"
