"""bf16 on CPU must not cost accuracy: the `auto` probe may choose it on speed alone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from engine_helpers import TinyNet, job_from

from hw3tui.engine.training.loop import StopFlag, fit
from hw3tui.runs.events import Event


class Events:
    def __init__(self) -> None:
        self.records: list[Event] = []

    def emit(self, record: Event) -> None:
        self.records.append(record)

    def save_best(self, job: object, epoch: int, value: float) -> str:
        return "best/x.safetensors"

    def save_state(self, job: object) -> None:
        pass


def val_accuracy(precision: str, data: Path) -> tuple[float, str]:
    job = job_from(
        [
            "data.source=imagefolder",
            f"data.train={data / 'train'}",
            f"data.val={data / 'val'}",
            "data.image_size=16",
            "schedule.epochs=6",
            "schedule.lr=0.02",
            "schedule.batch_size=8",
            f"runtime.precision={precision}",
            "runtime.channels_last=false",
        ],
        module=TinyNet(),  # batch norm included
    )
    out = Events()
    assert fit(job, out, StopFlag()).state == "done"  # type: ignore[arg-type]
    return out.records[-1]["val_acc"], job.runtime.precision


@pytest.mark.slow
def test_a_bf16_run_reaches_the_fp32_run_accuracy_on_tiny_data(
    image_folder: Callable[..., Path], tmp_path: Path
) -> None:
    data = tmp_path / "colours"
    image_folder(data / "train", per_class=16)
    image_folder(data / "val", per_class=8)
    fp32, used = val_accuracy("fp32", data)
    bf16, used_bf16 = val_accuracy("bf16", data)
    assert (used, used_bf16) == ("fp32", "bf16")
    assert fp32 >= 0.9  # learnable: a broken bf16 run could not hide behind a failing fp32 one
    assert abs(bf16 - fp32) <= 2 / 24  # within two of the 24 validation images
