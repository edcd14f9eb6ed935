"""A trained checkpoint on labelled images (`hw3tui eval`) or on unlabelled ones (`predict`).

    target = resolve_checkpoint("runs/tiny-20260101-000000", runs_dir)   # hw3tui.runs
    trained = load_trained(target)                                # checkpoint + the preset to use
    report = evaluate_checkpoint(trained)                         # the run's own val set
    report = evaluate_checkpoint(trained, data=Path("data/val"))  # or other labelled images

Nothing here is a second pipeline: a run's checkpoint is evaluated with the run's frozen preset,
its working directory (relative paths), its seeded split, the engine's `make_job` (device,
precision, memory layout, val batch size, evaluation transforms) and the engine's own `evaluate`
loop. `Recording` wraps the model that loop runs, to keep each image's output for per-class
accuracy, the confusion matrix and predictions. So `eval` of a run's best checkpoint on its own
val set gives exactly the val acc the run recorded for that epoch (on the same device).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import ValidationError
from torch import nn

from hw3tui.checkpoints.locate import locate
from hw3tui.engine.checkpoint import (
    CheckpointError,
    CheckpointInfo,
    check_against_model,
    load_checkpoint,
)
from hw3tui.engine.data.datasets import Dataset, Split, images_at, load_dataset
from hw3tui.engine.data.sources import DataError
from hw3tui.engine.hardware.runtime import DeviceError, apply_threads, choose_runtime
from hw3tui.engine.models import build_model
from hw3tui.engine.training.job import Setup, make_job
from hw3tui.engine.training.loop import Job, evaluate
from hw3tui.errors import EvalError as EvalError  # defined with its family
from hw3tui.preset import LoadedPreset, load_preset
from hw3tui.preset.models import Preset
from hw3tui.results.eval_report import EvalReport, Evaluated
from hw3tui.results.eval_report import Mistakes as Mistakes  # where it was defined before
from hw3tui.runs import RunDir, Target
from hw3tui.runs.history import history_of

DataSource = Literal["imagefolder", "filenames", "csv", "shapes"]
Seen = Callable[[int, int], None]
"""Told (images done, images in all) after each batch: a progress bar."""


@dataclass(frozen=True)
class Trained:
    """A checkpoint's weights and metadata, and the preset it is used with."""

    target: Target
    state_dict: dict[str, torch.Tensor]
    info: CheckpointInfo
    preset: Preset
    """The run's frozen preset, or (a checkpoint without its run) one made from its metadata."""
    base_dir: Path
    """Where the run's relative data paths start: the directory it was started in."""
    source: str

    @property
    def classes(self) -> list[str]:
        return list(self.info.classes)

    def describe(self) -> dict[str, Any]:
        info = self.info
        return {
            "source": self.source,
            "backbone": info.backbone,
            "preset": info.preset,
            "epoch": info.epoch,
            "metric": info.metric,
            "value": info.value,
            "image_size": self.preset.data.image_size,
            "version": info.version,
        }


def load_trained(
    target: Target, *, image_size: int | None = None, device: str | None = None
) -> Trained:
    """Read and check the checkpoint; find the preset (and working directory) to use it with.

    `image_size` and `device` override the run's (a checkpoint without its run takes its image
    size from its metadata, else needs `image_size`)."""
    state_dict, info = load_checkpoint(target.checkpoint)
    source = locate(target.checkpoint).describe()
    if target.run is not None:
        preset = load_preset(target.run.preset_file).preset
        status = target.run.read_status()
        base_dir = Path(status.cwd if status is not None and status.cwd else Path.cwd())
    else:
        preset = _preset_of(info, image_size, source)
        base_dir = Path.cwd()
    data = preset.data.model_copy(update={"image_size": image_size}) if image_size else preset.data
    runtime = preset.runtime.model_copy(update={"device": device}) if device else preset.runtime
    preset = preset.model_copy(update={"data": data, "runtime": runtime})
    return Trained(target, state_dict, info, preset, base_dir, source)


def _preset_of(info: CheckpointInfo, image_size: int | None, source: str) -> Preset:
    size = image_size or info.image_size
    if size is None:
        raise EvalError(
            f"{source}: the checkpoint does not record its image size (written before hw3tui "
            "recorded it): give --image-size (the preset's data.image_size)"
        )
    try:
        return Preset.model_validate(
            {
                "name": "checkpoint",
                "data": {"source": "imagefolder", "train": ".", "image_size": size},
                "backbone": {"name": info.backbone, "pretrained": False},
            }
        )
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"]
        raise EvalError(f"{source}: cannot rebuild its model ({reason})") from None


# --- the model and the images ------------------------------------------------------------------


def eval_job(trained: Trained, split: Split, *, description: str = "") -> Job:
    """The engine's job for the checkpoint's model, with `split` as the images to run through it."""
    preset, info = trained.preset, trained.info
    size = preset.data.image_size
    try:
        runtime = choose_runtime(
            preset.runtime,
            backbone=info.backbone,
            image_size=size,
            cached=split.cached,
            workers=preset.data.workers,
        )
    except DeviceError as exc:  # a run trained on a GPU, evaluated on a laptop
        raise DeviceError(f"{exc} (--device cpu runs it on the CPU)") from None
    apply_threads(runtime)
    try:
        module = build_model(
            info.backbone,
            num_classes=len(info.classes),
            image_size=size,
            pretrained=False,
            base_dir=trained.base_dir,
        )
    except ValueError as exc:  # torchvision: an unknown name; WeightsError: a ViT's image size
        raise EvalError(f"{trained.source}: cannot rebuild its {info.backbone}: {exc}") from None
    try:
        check_against_model(trained.state_dict, module)
    except CheckpointError as exc:
        raise CheckpointError(f"{trained.source}: {exc}") from None
    module.load_state_dict(trained.state_dict, strict=True)
    dataset = Dataset(
        classes=tuple(info.classes),
        train=split,
        val=split,
        image_size=size,
        cache_bytes=0,
        description=description,
    )
    loaded = LoadedPreset(preset, "", trained.source)
    return make_job(Setup(loaded, dataset, runtime, module, trained.base_dir))


class Recording(nn.Module):
    """The model `evaluate` runs, keeping what it computes for each image: its logits, or with
    `flip` (test-time augmentation) the mean softmax of the image and its mirror image. It hands
    the plain logits on, so `evaluate`'s loss and accuracy stay the engine's own."""

    def __init__(
        self, model: nn.Module, *, total: int, flip: bool = False, seen: Seen | None = None
    ) -> None:
        super().__init__()
        self.model = model
        self.flip = flip
        self.seen = seen
        self.total, self.done = total, 0
        self.kept: list[torch.Tensor] = []

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.model(inputs)
        if self.flip:
            mirrored: torch.Tensor = self.model(inputs.flip(-1))  # width is the last dimension
            self.kept.append((logits.float().softmax(1) + mirrored.float().softmax(1)) / 2)
        else:
            self.kept.append(logits.float())
        self.done += int(inputs.shape[0])
        if self.seen is not None:
            self.seen(self.done, self.total)
        return logits

    def outputs(self) -> torch.Tensor:
        """(N, classes) on the CPU, in the order the images came."""
        return torch.cat([t.cpu() for t in self.kept]) if self.kept else torch.empty(0, 0)

    def probabilities(self) -> torch.Tensor:
        kept = self.outputs()
        return kept if self.flip else kept.softmax(1)


def run_through(job: Job, recording: Recording) -> tuple[float, float]:
    """The engine's `evaluate` over the job's val split, watched by `recording`."""
    try:
        return evaluate(recording, job.val_batches(), job.val_inputs, job.runtime)
    except DataError as exc:
        raise DataError(_last_line(exc)) from None


def _last_line(exc: BaseException) -> str:
    """A loader worker's error arrives with its traceback in the message: keep the last line."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    last = lines[-1] if lines else type(exc).__name__
    return last.split("DataError: ", 1)[-1]


# --- eval ----------------------------------------------------------------------------------------


def evaluate_checkpoint(
    trained: Trained, *, data: Path | None = None, seen: Seen | None = None
) -> EvalReport:
    """Accuracy, loss, per-class accuracy and confusion matrix of the checkpoint on the run's own
    val set (rebuilt as the run built it), or on the labelled images at `data`."""
    return evaluate_with_mistakes(trained, data=data, seen=seen, mistakes=0)[0]


def evaluate_with_mistakes(
    trained: Trained,
    *,
    data: Path | None = None,
    seen: Seen | None = None,
    mistakes: int = 24,
) -> tuple[EvalReport, Mistakes]:
    """`evaluate_checkpoint`'s report, and up to `mistakes` misclassified images from that same
    evaluation (in data order)."""
    done = evaluate_in_full(trained, data=data, seen=seen, mistakes=mistakes)
    return done.report, done.mistakes


MISTAKES_SHOWN = 24
"""How many misclassified images an evaluation keeps (the figure's grid)."""


def evaluate_in_full(
    trained: Trained,
    *,
    data: Path | None = None,
    seen: Seen | None = None,
    mistakes: int = MISTAKES_SHOWN,
) -> Evaluated:
    """`evaluate_with_mistakes`, and every image's true and predicted class (what a stored
    evaluation keeps, and what `compare --explain` compares image by image)."""
    dataset = labelled_images(trained, data)
    split = in_checkpoint_order(dataset, trained.classes)
    job = eval_job(trained, split, description=dataset.description)
    recording = Recording(job.model, total=len(split), seen=seen)
    loss, accuracy = run_through(job, recording)
    predicted = recording.outputs().argmax(1)
    labels = split.labels
    if predicted.shape[0] != labels.shape[0]:  # every image, once, in order: evaluate's contract
        raise RuntimeError(f"evaluated {predicted.shape[0]} of {labels.shape[0]} images")
    count = len(trained.classes)
    confusion = torch.bincount(labels * count + predicted, minlength=count * count)
    run = trained.target.run
    own = data is None
    report = EvalReport(
        classes=trained.classes,
        confusion=confusion.reshape(count, count).tolist(),
        accuracy=accuracy,
        loss=loss if math.isfinite(loss) else None,
        checkpoint=trained.describe(),
        data=f"the run's val set: {dataset.description}" if own else dataset.description,
        run=run.name if run is not None else None,
        recorded=recorded_epoch(run, trained.info.epoch) if own and run is not None else None,
        device=str(job.runtime.device),
    )
    wrong = torch.nonzero(predicted != labels).flatten().tolist()
    shown = wrong[:mistakes]
    names = trained.classes
    examples = Mistakes(
        images=as_seen(job, split, shown),
        true=[names[int(labels[i])] for i in shown],
        predicted=[names[int(predicted[i])] for i in shown],
        total=len(wrong),
    )
    return Evaluated(
        report, examples, labels.tolist(), predicted.tolist(), val_set=fingerprint(split)
    )


def as_seen(job: Job, split: Split, indices: Sequence[int]) -> np.ndarray:
    """uint8 (N, H, W, 3): the split's images at `indices` as the job's model sees them (the
    evaluation transforms applied, then de-normalised for drawing)."""
    inputs = job.val_inputs(images_at(split, indices).to(job.runtime.device), None)
    return job.val_inputs.to_pixels(inputs)


def images_seen(trained: Trained, indices: Sequence[int]) -> np.ndarray:
    """The run's own val images at `indices` (the indices an `Evaluated` lists), as the checkpoint's
    model saw them when it was evaluated."""
    dataset = labelled_images(trained, None)
    split = in_checkpoint_order(dataset, trained.classes)
    return as_seen(eval_job(trained, split), split, indices)


def fingerprint(split: Split) -> str:
    """SHA-256 of a split's labels and its images (decoded pixels in memory, else the files'
    resolved paths): equal for the same images in the same order."""
    digest = hashlib.sha256(split.labels.numpy().astype("<i8").tobytes())
    if split.images is not None:
        digest.update(split.images.contiguous().numpy().tobytes())
    for path in split.files or ():
        digest.update(str(path.resolve()).encode("utf-8", "surrogateescape") + b"\0")
    return digest.hexdigest()


def labelled_images(trained: Trained, data: Path | None) -> Dataset:
    """The run's own split (its val set as its run drew it), or the labelled images at `data`,
    read in the run's data format (a checkpoint without its run: the format the path has)."""
    preset = trained.preset
    if data is None:
        if trained.target.run is None:
            raise EvalError(
                f"{trained.source}: a checkpoint without its run needs --data (a folder of "
                "labelled images, or a CSV of path,label)"
            )
        spec = preset.data
        base_dir = trained.base_dir
    else:
        source = preset.data.source
        if source == "shapes" or trained.target.run is None:
            source = data_format(data)
        # the folder is both splits: only its val side is used (nothing is decoded twice)
        spec = preset.data.model_copy(
            update={"source": source, "train": data, "val": data, "val_split": None}
        )
        base_dir = Path.cwd()
    if spec.source != "shapes":
        # streamed: the val images are decoded once as they are evaluated, the train side of
        # the run's data only has its headers checked (its split still follows the run's seed)
        spec = spec.model_copy(update={"cache": False})
    return load_dataset(spec, seed=preset.seed, base_dir=base_dir)


def data_format(path: Path) -> DataSource:
    """What --data is for a checkpoint without its run: a CSV file of path,label rows, a folder
    with one sub-folder per class, or a folder of Food-11 style `3_120.jpg` files."""
    if path.is_file():
        return "csv"
    if path.is_dir() and any(p.is_dir() and not p.name.startswith(".") for p in path.iterdir()):
        return "imagefolder"
    return "filenames"


def in_checkpoint_order(dataset: Dataset, classes: Sequence[str]) -> Split:
    """The val split with labels numbered as the checkpoint numbers its classes (the data may
    hold fewer classes; a class the checkpoint does not know is an EvalError)."""
    unknown = [name for name in dataset.classes if name not in classes]
    if unknown:
        listed = ", ".join(f"'{n}'" for n in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        known = ", ".join(classes[:8]) + (", ..." if len(classes) > 8 else "")
        raise EvalError(
            f"the data's classes do not match the checkpoint's: {listed} "
            f"{'is' if len(unknown) == 1 else 'are'} not among its {len(classes)} classes "
            f"({known})"
        )
    order = torch.tensor([list(classes).index(name) for name in dataset.classes])
    return replace(dataset.val, labels=order[dataset.val.labels])


def recorded_epoch(run: RunDir, epoch: int) -> dict[str, Any] | None:
    """What the run recorded for `epoch` (its val acc and loss), from its events."""
    result = history_of(run.events()).results.get(epoch)
    if result is None:
        return None
    return {"epoch": epoch, "val_acc": result.val_acc, "val_loss": result.val_loss}
