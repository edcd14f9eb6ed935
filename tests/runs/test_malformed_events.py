"""One malformed event (a number that is not finite, too large, or of the wrong type) is skipped
like a line that is not JSON, counted once, and never reaches a reader: compare, plot, the
history every face folds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hw3tui.cli import cli
from hw3tui.runs import EventTail, RunDir
from hw3tui.runs.history import history_of
from hw3tui.runs.status import Status

START = 1_767_225_600.0


def good_events() -> list[str]:
    """Two finished epochs, as JSON lines."""
    events: list[dict[str, object]] = [
        {"type": "run_start", "time": START, "preset": "tiny", "device": "cpu", "epochs": 2}
    ]
    for epoch in range(2):
        events += [
            {"type": "epoch_start", "time": START + epoch, "epoch": epoch, "lr": 0.001},
            {
                "type": "progress",
                "time": START + epoch,
                "epoch": epoch,
                "step": 1,
                "steps": 2,
                "loss": 0.9,
            },
            {
                "type": "epoch_end",
                "time": START + epoch + 1,
                "epoch": epoch,
                "val_acc": 0.5 + epoch / 10,
                "train_acc": 0.5,
                "val_loss": 1.0,
                "train_loss": 1.0,
                "seconds": 1.0,
            },
        ]
    return [json.dumps(e) for e in events]


BAD_LINES = {
    "epoch Infinity": '{"type": "epoch_start", "time": 1767225603.0, "epoch": Infinity, "lr": 0.1}',
    "epoch 1e400": '{"type": "epoch_start", "time": 1767225603.0, "epoch": 1e400, "lr": 0.1}',
    "epoch huge int": '{"type": "epoch_start", "time": 1767225603.0, "epoch": 1' + "0" * 40 + "}",
    "epoch text": '{"type": "epoch_start", "time": 1767225603.0, "epoch": "3"}',
    "loss NaN": '{"type": "progress", "time": 1767225603.0, "epoch": 1, "step": 2, "steps": 2, '
    '"loss": NaN}',
    "val_acc -Infinity": '{"type": "epoch_end", "time": 1767225603.0, "epoch": 1, '
    '"val_acc": -Infinity}',
    "time NaN": '{"type": "checkpoint", "time": NaN, "epoch": 1, "metric": "val_acc", '
    '"value": 0.6, "path": "best/m"}',
    "best value Infinity": '{"type": "run_end", "time": 1767225603.0, "state": "done", '
    '"best": {"epoch": 1, "metric": "val_acc", "value": Infinity, "path": "best/m"}, '
    '"reason": ""}',
}


def write_run(folder: Path, bad: str) -> RunDir:
    run = RunDir(folder)
    run.path.mkdir(parents=True)
    lines = good_events()
    lines.insert(4, bad)  # between epoch 0's end and epoch 1's start
    run.events_file.write_text("\n".join(lines) + "\n")
    run.write_status(Status(state="done", started=START, ended=START + 3, epochs=2, epochs_done=2))
    return run


@pytest.mark.parametrize("bad", BAD_LINES.values(), ids=BAD_LINES.keys())
def test_a_malformed_event_is_skipped_and_counted(tmp_path: Path, bad: str) -> None:
    run = write_run(tmp_path / "run", bad)
    tail = EventTail(run.events_file)
    history = history_of(tail.read())
    assert tail.skipped == 1
    assert tail.first_skipped is not None and tail.first_skipped.startswith("line 5: ")
    assert history.series("val_acc") == ([0, 1], [0.5, 0.6])
    assert history.current_epoch == 1
    assert list(history.batch_losses) == [0.9]


def test_invalid_json_lines_are_counted_blank_lines_are_not(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(good_events()[0] + "\n\nnot json\n" + '{"no": "type"}\n')
    tail = EventTail(path)
    assert [e["type"] for e in tail.read()] == ["run_start"]
    assert tail.skipped == 2
    assert tail.first_skipped == "line 3: not JSON"


@pytest.mark.parametrize("bad", [BAD_LINES["epoch Infinity"], BAD_LINES["epoch 1e400"]])
def test_compare_and_plot_read_past_a_non_finite_epoch(isolated: Path, bad: str) -> None:
    a = write_run(isolated / "runs" / "a", bad)
    b = write_run(isolated / "runs" / "b", BAD_LINES["loss NaN"])
    runner = CliRunner()
    result = runner.invoke(cli, ["compare", str(a.path), str(b.path)])
    assert result.exit_code == 0, result.output
    assert "a: events.jsonl: 1 line skipped (line 5: epoch_start.epoch:" in result.output
    assert "0.600 (epoch 1)" in result.output

    result = runner.invoke(cli, ["compare", "--json", str(a.path), str(b.path)])
    assert result.exit_code == 0, result.output
    sides = json.loads(result.output)["runs"]
    assert [side["events_skipped"] for side in sides] == [1, 1]

    result = runner.invoke(cli, ["plot", "--no-eval", str(a.path), "-o", "figures"])
    assert result.exit_code == 0, result.output
