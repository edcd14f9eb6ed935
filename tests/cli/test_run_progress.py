"""The headless printer: plain lines for logs, a live bar on terminals, from the same events."""

from __future__ import annotations

import io

from hw3tui.console.progress import Printer
from hw3tui.humanize import format_duration
from hw3tui.runs.events import Event, event


def a_run() -> list[Event]:
    records = [
        event(
            "run_start",
            preset="tiny",
            device="cpu",
            num_classes=3,
            classes=["a", "b", "c"],
            run="tiny-1",
            run_dir="runs/tiny-1",
            epochs=2,
            images={"train": 48, "val": 24},
            cache_mb=0.2,
            backbone="resnet18",
            pretrained="false",
            runtime={"device": "cpu", "precision": "fp32", "channels_last": False},
        )
    ]
    for epoch in range(2):
        hyper = {"lr": 0.001, "batch_size": 16, "weight_decay": 0.0}
        records.append(event("epoch_start", epoch=epoch, steps=3, **hyper))
        for step in (1, 2):
            records.append(
                event(
                    "progress", epoch=epoch, step=step, steps=3, loss=1.2, acc=0.5, images_per_s=90
                )
            )
        records.append(
            event(
                "epoch_end",
                epoch=epoch,
                train_loss=1.1,
                train_acc=0.5,
                val_loss=1.0,
                val_acc=0.6 + epoch / 10,
                seconds=1.5,
                images_per_s=32.0,
                **hyper,
            )
        )
        path = "best/resnet18_best.safetensors"
        records.append(event("checkpoint", epoch=epoch, metric="val_acc", value=0.6, path=path))
    best = {"epoch": 1, "metric": "val_acc", "value": 0.7, "path": path}
    records.append(event("run_end", state="done", best=best, reason="finished 2 epochs"))
    return records


def test_plain_output_is_one_line_per_epoch_without_carriage_returns() -> None:
    out = io.StringIO()
    printer = Printer(out, live=False)
    for record in a_run():
        printer(record)
    printer.close()
    text = out.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert len(epochs) == 2
    assert epochs[0].startswith("epoch 0 [1/2]  train loss 1.1000 acc 0.500  val loss 1.0000")
    assert epochs[1].endswith("* best") and "lr 0.001 bs 16 wd 0" in epochs[1]
    assert lines[0] == "run runs/tiny-1"
    assert "48 train / 24 val images" in lines[1]
    assert lines[-2].startswith("done: finished 2 epochs · best val_acc 0.7000 at epoch 1")
    assert lines[-1] == "  checkpoint: runs/tiny-1/best/resnet18_best.safetensors"


def test_a_cancelled_run_says_how_to_continue() -> None:
    out = io.StringIO()
    printer = Printer(out, live=False)
    records = a_run()[:5]
    records.append(event("run_end", state="cancelled", best=None, reason="SIGINT during epoch 0"))
    for record in records:
        printer(record)
    assert "cancelled: SIGINT during epoch 0 · no checkpoint" in out.getvalue()
    assert "continue with: hw3tui resume runs/tiny-1" in out.getvalue()


def test_live_display_on_a_terminal_shows_the_bar_and_keeps_the_epoch_lines() -> None:
    out = io.StringIO()
    printer = Printer(out, live=True)
    for record in a_run():
        printer(record)
    printer.close()
    text = out.getvalue()
    assert "epoch 0 [1/2]  train loss 1.1000" in text
    assert "done: finished 2 epochs" in text


def duration(seconds: float) -> str:
    """The printer's durations: `format_duration`'s spaced style."""
    return format_duration(seconds, spaced=True)


def test_durations_read_like_a_person_wrote_them() -> None:
    assert duration(42.4) == "42 s"
    assert duration(185) == "3 min 05 s"
    assert duration(3725) == "1 h 02 min"


def test_an_event_the_history_skips_prints_nothing() -> None:
    out = io.StringIO()
    printer = Printer(out, live=False)
    records = a_run()
    records.insert(5, event("epoch_end", train_loss=1.0))  # no epoch: a hand-edited line
    records.insert(1, {"type": "note", "text": "unknown to this version"})
    for record in records:
        printer(record)
    printer.close()
    lines = out.getvalue().splitlines()
    epochs = [line[:13] for line in lines if line.startswith("epoch ")]
    assert epochs == ["epoch 0 [1/2]", "epoch 1 [2/2]"]
    assert lines[-2].startswith("done: finished 2 epochs · best val_acc 0.7000 at epoch 1")
