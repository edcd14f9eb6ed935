"""Folding events into a run's history, and comparing two runs (pure: no app, no training)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_fakes import STARTED, epoch_events, tiny_text, write_run

from hw3tui.humanize import format_duration
from hw3tui.preset import validate_text
from hw3tui.results.comparison import compare_runs
from hw3tui.runs.history import RunHistory, history_of, schedule_ahead


def test_history_of_a_finished_run() -> None:
    events = epoch_events(4, done=4, acc_gain=0.1)
    events.append({"type": "run_end", "time": STARTED + 48, "state": "done", "best": None})
    history = history_of(events)
    assert history.state == "done"
    assert history.epochs_done == 4
    assert history.series("val_acc") == ([0, 1, 2, 3], [0.4, 0.5, 0.6, 0.7])
    assert history.best_of("val_acc") == (0.7, 3)
    assert history.best_of("val_loss") == (0.4879, 3)
    assert history.best == {
        "epoch": 3,
        "metric": "val_acc",
        "value": 0.7,
        "path": "best/resnet18_best.safetensors",
    }
    assert history.eta_seconds() == 0.0
    assert history.classes == ["circle", "square", "triangle"]


def test_eta_and_speed_come_from_the_events_alone() -> None:
    # one 12 s epoch done, then 3 of 6 steps of the second, of 4 planned
    history = history_of(epoch_events(4, done=1, in_epoch_steps=3))
    assert history.state == "running"
    assert history.current_epoch == 1
    assert history.epoch_fraction() == 0.5
    assert history.eta_seconds() == pytest.approx(6 + 2 * 12)
    assert history.images_per_s == 400.0
    assert list(history.batch_losses) == [
        e["loss"] for e in epoch_events(4, done=1, in_epoch_steps=3)[-3:]
    ]


def test_eta_before_any_epoch_ends_uses_the_pace_so_far() -> None:
    history = history_of(epoch_events(2, done=0, in_epoch_steps=2, seconds=14.0))
    # 2 of 6 steps took 4 s: an epoch takes 12 s; 2/3 of this one and one more are left
    assert history.eta_seconds() == pytest.approx(8 + 12)


def test_a_resumed_run_replaces_repeated_epochs_and_runs_again() -> None:
    first = epoch_events(4, done=3)
    first.append({"type": "run_end", "time": 1.0, "state": "cancelled", "best": None})
    resumed = [e for e in epoch_events(4, done=4, acc_gain=0.2) if e["type"] != "run_start"]
    history = history_of([*first, {"type": "run_start", "time": 2.0, "epochs": 4}])
    assert history.state == "running"
    history.extend(e for e in resumed if e.get("epoch", 0) >= 2)
    assert history.series("val_acc")[1] == [0.4, 0.5, 0.8, 0.99]  # epochs 2-3 from the resume


def test_malformed_events_are_skipped() -> None:
    history = RunHistory()
    history.apply({"type": "epoch_end"})  # no epoch
    history.apply({"type": "epoch_start", "epoch": "x"})
    history.apply({"type": "nonsense"})
    assert history.epochs_done == 0 and history.current is None
    assert history.state == "starting"


@pytest.mark.parametrize(
    ("schedule", "epoch", "ahead"),
    [
        ("0.01", 0, "constant"),
        ("{0: 0.01, 3: 0.001, 6: 0.0001}", 0, "→ 0.001 at 3 …"),
        ("{0: 0.01, 3: 0.001, 6: 0.0001}", 4, "→ 0.0001 at 6"),
        ("{cosine: {start: 0.01, end: 0.0001}}", 2, "→ 0.0001 at 9"),
        (
            "{plateau: {start: 0.01, factor: 0.5}}",
            2,
            "×0.5 after 3 epochs without a better val acc",
        ),
        ("0.01", 9, "last epoch"),
    ],
)
def test_schedule_ahead(schedule: str, epoch: int, ahead: str) -> None:
    text = f"schedule:\n  epochs: 10\n  lr: {schedule}\n"
    preset = validate_text(text, "test.yaml").preset
    assert schedule_ahead(preset.schedule.lr, 10, epoch) == ahead


@pytest.mark.parametrize(
    ("seconds", "shown"), [(None, "–"), (42.4, "42s"), (185, "3m05s"), (3720, "1h02m")]
)
def test_format_duration(seconds: float | None, shown: str) -> None:
    assert format_duration(seconds) == shown


def test_compare_two_runs(isolated: Path) -> None:
    runs = isolated / "runs"
    a = write_run(runs, "a", epochs=4, acc_gain=0.1)
    b = write_run(
        runs,
        "b",
        epochs=3,
        acc_gain=0.2,
        preset_text=tiny_text("b").replace("epochs: 2", "epochs: 3").replace("adamw", "sgd"),
    )
    comparison = compare_runs([a, b])
    assert [(c.field, c.values) for c in comparison.changes()] == [
        ("name", ["tiny", "b"]),
        ("optimizer.name", ["adamw", "sgd"]),
        ("schedule.epochs", [4, 3]),
    ]
    rows = dict(comparison.metric_rows())
    assert rows["best val acc"] == ["0.700 (epoch 3)", "0.800 (epoch 2)"]
    assert rows["epochs"] == ["4/4", "3/3"]
    assert rows["state"] == ["done", "done"]
    assert comparison.winner("val_acc") == 1
    assert comparison.epoch_rows()[-1] == (3, [pytest.approx(0.7), None])
