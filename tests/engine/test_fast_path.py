"""The fast data path: it learns as well as a plain homework loop, augments every image of a
batch differently, caches only what fits, and (on a GPU) never waits for the device per step."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from engine_helpers import TinyNet, job_from
from PIL import Image

from hw3tui.engine.data import datasets as data_module
from hw3tui.engine.data.augment import step_generator
from hw3tui.engine.data.batches import _fits_on
from hw3tui.engine.data.datasets import Split, load_dataset
from hw3tui.engine.seeds import Stream, torch_generator
from hw3tui.engine.training.loop import StopFlag, train_one_epoch
from hw3tui.engine.training.session import start_run
from hw3tui.preset import load_preset
from hw3tui.preset.models import Data
from hw3tui.runs.events import Event

REPO = Path(__file__).resolve().parents[2]
COLOURS = {"red": (200, 60, 60), "green": (60, 200, 60), "blue": (60, 60, 200)}
SIZE = 32
ALL_FOUR = [
    "augment.horizontal_flip=0.5",
    "augment.random_crop={padding: 4}",
    "augment.affine={degrees: 15, translate: [0.1, 0.1], scale: [0.9, 1.1]}",
    "augment.grayscale=0.3",
]


def write_patches(root: Path, *, train: int, val: int) -> Path:
    """ImageFolder PNGs: a small coloured square (the class) at a random place on grey noise.
    Learnable in a few epochs, but not from the first batch: the model must find the patch."""
    rng = np.random.default_rng(0)
    for split, count in (("train", train), ("val", val)):
        for name, colour in COLOURS.items():
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = rng.normal(128, 30, (SIZE, SIZE, 3))
                y, x = rng.integers(0, SIZE - 8, 2)
                pixels[y : y + 8, x : x + 8] = np.array(colour) + rng.normal(0, 20, (8, 8, 3))
                image = np.clip(pixels, 0, 255).astype(np.uint8)
                Image.fromarray(image).save(folder / f"{i}.png")
    return root


def preset_text(data: Path, **runtime: Any) -> str:
    settings = {
        "name": "fast",
        "data": {
            "source": "imagefolder",
            "train": str(data / "train"),
            "val": str(data / "val"),
            "image_size": SIZE,
        },
        "backbone": {"name": "resnet18", "pretrained": False},
        "optimizer": {"name": "adam"},
        "augment": {
            "horizontal_flip": 0.5,
            "random_crop": {"padding": 4},
            "affine": {"degrees": 15, "translate": [0.1, 0.1], "scale": [0.9, 1.1]},
            "grayscale": 0.1,
        },
        "schedule": {"epochs": 5, "lr": 0.001, "batch_size": 16},
        "runtime": {"device": "cpu", **runtime},
    }
    return json.dumps(settings)  # JSON is YAML


def run_engine(tmp_path: Path, text: str) -> list[Event]:
    preset = tmp_path / "fast.yaml"
    preset.write_text(text)
    events: list[Event] = []
    outcome = start_run(load_preset(preset), runs_dir=tmp_path / "runs", console=events.append)
    assert outcome.state == "done", outcome.reason
    return events


@pytest.mark.slow
def test_the_fast_path_learns_as_well_as_a_plain_homework_loop(tmp_path: Path) -> None:
    data = write_patches(tmp_path / "data", train=48, val=24)
    events = run_engine(tmp_path, preset_text(data, channels_last=True))
    start = next(e for e in events if e["type"] == "run_start")
    assert start["cache_mb"] > 0 and start["runtime"]["channels_last"]  # the fast path it is
    engine_acc = [e["val_acc"] for e in events if e["type"] == "epoch_end"][-1]

    sys.path.insert(0, str(REPO / "benchmarks"))
    from plain_loop import train_plain

    torch.manual_seed(0)
    plain = train_plain(
        data,
        model_name="resnet18",
        image_size=SIZE,
        batch_size=16,
        epochs=5,
        optimizer_name="adam",
        lr=0.001,
        padding=4,
        device="cpu",
        workers=0,
        out_dir=tmp_path,
    )
    # chance is 0.33; both reach ~1.0 in 3-4 epochs (measured over several seeds)
    assert engine_acc >= 0.9 and plain["val_acc"] >= 0.9
    assert abs(engine_acc - plain["val_acc"]) <= 0.1


class Recording(TinyNet):
    """Keeps every training input it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.inputs.append(x.detach().clone())
        return super().forward(x)


def augmented_inputs(epoch: int = 0) -> list[torch.Tensor]:
    """What the model sees in one training epoch when every training image is the same."""
    model = Recording()
    job = job_from([*ALL_FOUR, "schedule.batch_size=8"], module=model)
    one = job.train.images[:1]  # type: ignore[index]
    job.train = Split(job.train.labels, SIZE, images=one.expand(len(job.train), -1, -1, -1))
    job.state.epoch = epoch
    train_one_epoch(job, job.train_batches(8), lambda _: None, StopFlag())
    return model.inputs


def test_each_image_of_a_batch_is_augmented_differently() -> None:
    batches = augmented_inputs()
    assert len(batches) == 48 // 8
    for batch in batches:
        distinct = {tuple(image.flatten().tolist()) for image in batch}
        assert len(distinct) == len(batch)  # identical images in, all different out
    replay, later = augmented_inputs(), augmented_inputs(epoch=1)
    assert all(torch.equal(a, b) for a, b in zip(batches, replay, strict=True))  # resume replays
    assert not torch.equal(batches[0], later[0])  # another epoch, other draws


def test_on_the_cpu_each_step_draws_from_the_seeded_augment_stream() -> None:
    ours = step_generator(3, 4, 5, torch.device("cpu"))
    theirs = torch_generator(3, Stream.AUGMENT, 4, 5)
    assert ours.device == torch.device("cpu")
    assert torch.equal(torch.rand(8, generator=ours), torch.rand(8, generator=theirs))


def image_folder_data(root: Path) -> Data:
    write_patches(root, train=4, val=2)
    return Data.model_validate(
        {"source": "imagefolder", "train": str(root / "train"), "val": str(root / "val"),
         "image_size": SIZE}
    )  # fmt: skip


def test_the_cache_is_used_exactly_when_it_fits_the_memory_budget(tmp_path: Path) -> None:
    data = image_folder_data(tmp_path / "data")
    needed = (12 + 6) * 3 * SIZE * SIZE  # every image, decoded to uint8
    # `cache: auto` caches when the images take at most a quarter of the available memory
    fits = load_dataset(data, seed=0, base_dir=tmp_path, memory=4 * needed)
    short = load_dataset(data, seed=0, base_dir=tmp_path, memory=4 * needed - 4)
    assert fits.cached and fits.cache_bytes == needed and fits.train.images is not None
    assert not short.cached and short.cache_bytes == 0
    assert short.train.files is not None and len(short.train.files) == 12


@pytest.mark.slow
@pytest.mark.parametrize("memory", [10**12, 1000], ids=["fits", "does-not-fit"])
def test_a_run_reports_its_cache_and_streams_what_does_not_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory: int
) -> None:
    image_folder_data(tmp_path / "data")
    monkeypatch.setattr(data_module, "available_memory", lambda: memory)
    text = preset_text(tmp_path / "data").replace('"epochs": 5', '"epochs": 1')
    events = run_engine(tmp_path, text)
    start = next(e for e in events if e["type"] == "run_start")
    expected = round((12 + 6) * 3 * SIZE * SIZE / 2**20, 2) if memory > 1000 else 0
    assert start["cache_mb"] == expected
    assert [e["type"] for e in events].count("epoch_end") == 1


def test_cached_images_move_to_the_gpu_only_when_they_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    images = torch.zeros(10, 3, 8, 8, dtype=torch.uint8)
    cuda = torch.device("cuda", 0)
    free = {"bytes": 4 * images.nbytes}
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (free["bytes"], 10**12))
    assert _fits_on(cuda, images)
    free["bytes"] -= 4
    assert not _fits_on(cuda, images)
    assert not _fits_on(torch.device("cpu"), images)


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@CUDA
@pytest.mark.parametrize(
    "settings",
    [
        [],
        ["runtime.precision=fp16"],  # GradScaler: the fused optimizer spares its .item()
        ["runtime.precision=fp32"],
        ["augment.random_crop={padding: 4, padding_mode: symmetric}"],
        ["augment.random_crop={padding: 4, padding_mode: constant}", "optimizer.name=sgd"],
    ],
    ids=["auto", "fp16", "fp32", "symmetric-padding", "constant-padding-sgd"],
)
def test_a_cuda_training_step_never_waits_for_the_gpu(
    monkeypatch: pytest.MonkeyPatch, settings: list[str]
) -> None:
    from hw3tui.engine.training import loop

    monkeypatch.setattr(loop, "PROGRESS_SECONDS", 1e9)  # no progress events: they sync
    overrides = [*ALL_FOUR, *settings, "runtime.device=cuda", "data.shapes.train_per_class=32"]
    job = job_from([*overrides, "schedule.batch_size=4"], module=TinyNet())
    batches = job.train_batches(4)
    assert len(batches) == 24

    def syncs_in_epoch(epoch: int, from_step: int) -> int:
        job.state.epoch, job.state.step, job.state.partial = epoch, from_step, None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                train_one_epoch(job, batches, lambda _: None, StopFlag())
            finally:
                torch.cuda.set_sync_debug_mode("default")
        return sum("synchroniz" in str(w.message) for w in caught)

    syncs_in_epoch(0, 0)  # warm-up: lazy CUDA initialisation, cuDNN autotuning
    # the same syncs (setting up and reading an epoch's sums) for 24 steps as for 12: none per step
    assert syncs_in_epoch(1, 0) == syncs_in_epoch(2, 12)


def test_a_batch_size_change_keeps_the_one_copy_of_the_images_on_the_device(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The accelerator has room for one copy of the training images (the meta device stands in
    for a GPU here): after the schedule changes the batch size, batches still come from that
    copy, rather than from the CPU with a copy per batch because a second one did not fit."""
    from dataclasses import replace

    from hw3tui.engine.data import batches as batches_module

    room = iter([True])  # the first copy fits; while it is held, no second one would
    monkeypatch.setattr(batches_module, "_fits_on", lambda device, images: next(room, False))
    job = job_from(["schedule.batch_size={0: 8, 1: 16}"], module=TinyNet())
    job.runtime = replace(job.runtime, device=torch.device("meta"))
    first = job.train_batches(8)
    assert first.images is not None and first.images.device.type == "meta"
    second = job.train_batches(16)
    assert len(second) == 48 // 16
    assert second.images is first.images and second.labels is first.labels


@CUDA
def test_on_a_gpu_the_images_stay_there_across_a_batch_size_change() -> None:
    job = job_from(["runtime.device=cuda", "schedule.batch_size={0: 8, 1: 16}"], module=TinyNet())
    first = job.train_batches(8)
    assert first.images is not None and first.images.is_cuda
    second = job.train_batches(16)
    assert second.images is not None and second.images.data_ptr() == first.images.data_ptr()


@CUDA
@pytest.mark.parametrize("name", ["adamw", "sgd"])
def test_on_a_gpu_a_resumed_fused_optimizer_keeps_its_parameters_strides(
    tmp_path: Path, name: str
) -> None:
    from hw3tui.engine.training.loop import fit
    from hw3tui.engine.training.state import load_state, save_state

    momentum = "optimizer.momentum=0.9" if name == "sgd" else "optimizer.betas=[0.9, 0.99]"
    overrides = ["runtime.device=cuda", "runtime.channels_last=true", f"optimizer.name={name}"]
    overrides.append(momentum)

    class Quiet:
        def emit(self, record: Event) -> None:
            pass

        def save_best(self, job: Any, epoch: int, value: float) -> str:
            return ""

        def save_state(self, job: Any) -> None:
            pass

    first = job_from([*overrides, "schedule.epochs=1"], module=TinyNet())
    fit(first, Quiet(), StopFlag())
    save_state(first, tmp_path / "state")
    second = job_from(overrides, module=TinyNet())
    load_state(second, tmp_path / "state")
    assert second.optimizer.param_groups[0]["fused"] is True
    for param, entries in second.optimizer.state.items():
        for key, value in entries.items():
            if value.dim():
                assert value.is_cuda and value.stride() == param.stride(), key
    assert fit(second, Quiet(), StopFlag()).state == "done"
