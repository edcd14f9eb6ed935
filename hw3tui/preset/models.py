"""The preset: everything about one experiment, validated.

Every field has a type, a default, bounds and a docstring. The docstrings are the user's reference:
they become descriptions in `hw3tui schema` (editor tooltips) and the TUI's help line.
Unknown keys are errors everywhere, so a misspelt key can never be silently ignored.
"""

from __future__ import annotations

import re
from difflib import get_close_matches
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from hw3tui.preset.backbones import CLASSIFICATION_MODELS
from hw3tui.preset.schedule import check_epochs, offending_key, schedule_of

# Strict numbers: YAML already gives numbers their types, so `true` or "0.1" where a number belongs
# is a mistake to report, not something to coerce (pydantic's lax mode would read `true` as 1).
Real = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Whole = Annotated[int, Field(strict=True)]
Probability = Annotated[Real, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[Real, Field(gt=0.0)]
NonNegativeFloat = Annotated[Real, Field(ge=0.0)]
BatchSize = Annotated[Whole, Field(ge=1, le=65536)]

LOCATED = "hw3tui_located"
"""Error type whose `ctx["at"]` extends the error's location (e.g. to one key of a mapping)."""


def located(message: str, at: tuple[str | int, ...] = ()) -> PydanticCustomError:
    """A validation error that points below the field it was raised on (to a key's own line)."""
    return PydanticCustomError(LOCATED, message, {"at": at})


class Section(BaseModel):
    """Base of every preset model: strict keys, docstrings as descriptions, immutable."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)


class ShapesData(Section):
    """Size of the built-in `shapes` data set (drawn procedurally, no download)."""

    classes: Annotated[Whole, Field(ge=2, le=8)] = 6
    """Number of shape classes (circle, square, triangle, cross, ring, star, ... in that order)."""
    train_per_class: Annotated[Whole, Field(ge=1, le=100_000)] = 300
    """Training images drawn per class."""
    val_per_class: Annotated[Whole, Field(ge=1, le=100_000)] = 60
    """Validation images drawn per class (from a different seed than training)."""


class Data(Section):
    """Where the images come from and how they are read."""

    source: Literal["imagefolder", "filenames", "csv", "shapes"] = "shapes"
    """`imagefolder`: one sub-folder per class. `filenames`: the label is read from each file name
    by `label_pattern` (Food-11 style `3_120.jpg`). `csv`: a file of `path,label` rows.
    `shapes`: a built-in procedurally drawn data set (no files needed)."""
    train: Path | None = None
    """Training images: a folder (imagefolder, filenames) or a CSV file (csv). Relative paths
    resolve against the working directory."""
    val: Path | None = None
    """Validation images, in the same form as `train`. Leave out to split `train` by `val_split`."""
    val_split: Annotated[Real, Field(gt=0.0, lt=1.0)] | None = None
    """Fraction of `train` held out for validation (seeded, stratified by class) when `val` is not
    given; 0.1 if neither is given."""
    label_pattern: str = r"^(\d+)_"
    """`filenames` only: regular expression whose first group is the label (`^(\\d+)_` reads 3
    from `3_120.jpg`)."""
    image_size: Annotated[Whole, Field(ge=16, le=1024)] = 224
    """Side of the square images the model sees, in pixels."""
    cache: Literal["auto"] | bool = "auto"
    """Decode every image once into memory as uint8 (`auto`: when it fits comfortably in RAM)."""
    workers: Literal["auto"] | Annotated[Whole, Field(ge=0, le=64)] = "auto"
    """Data-loading worker processes (`auto`: chosen for the machine; 0: the main process)."""
    shapes: ShapesData = ShapesData()
    """`shapes` only: how many classes and images to draw."""

    @field_validator("label_pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        if compiled.groups < 1:
            raise ValueError("needs a group around the label, e.g. ^(\\d+)_")
        return pattern

    @model_validator(mode="after")
    def _sources_have_files(self) -> Data:
        if self.source != "shapes" and self.train is None:
            raise located(f"source '{self.source}' needs `train` (a path)", ("train",))
        if self.val is not None and self.val_split is not None:
            raise located("give either `val` or `val_split`, not both", ("val_split",))
        return self

    @property
    def train_images(self) -> int | None:
        """How many images a run trains on per epoch, where the preset alone says (`shapes`:
        classes x train_per_class); None for files, counted only once they are read."""
        if self.source != "shapes":
            return None
        return self.shapes.classes * self.shapes.train_per_class

    @property
    def effective_val_split(self) -> float | None:
        """Fraction of `train` held out, or None when `val` (or `shapes`) gives the val set."""
        if self.val is not None or self.source == "shapes":
            return None
        return self.val_split if self.val_split is not None else 0.1


class Backbone(Section):
    """Which torchvision model to fine-tune."""

    name: str = "resnet18"
    """Any torchvision classification model (`resnet50`, `mobilenet_v2`, `efficientnet_b0`, ...);
    its classifier head is replaced to fit the data's classes."""
    pretrained: bool | Path = Field(default=True, union_mode="left_to_right")
    """`true`: torchvision's ImageNet weights (its cache, else a download). `false`: random
    initialisation. A path: a weights file (`.safetensors`, or a torchvision `.pth`)."""

    @field_validator("name")
    @classmethod
    def _known_model(cls, name: str) -> str:
        if name in CLASSIFICATION_MODELS:
            return name
        hint = get_close_matches(name.lower(), sorted(CLASSIFICATION_MODELS), n=1, cutoff=0.6)
        message = f"unknown backbone '{name}'"
        if hint:
            message += f"; did you mean '{hint[0]}'?"
        else:
            message += " (any torchvision classification model, e.g. resnet50, mobilenet_v2)"
        raise PydanticCustomError("unknown_backbone", message)


class Optimizer(Section):
    """The optimizer; its learning rate and weight decay are scheduled in `schedule`."""

    name: Literal["sgd", "adam", "adamw"] = "sgd"
    """`sgd` (with `momentum` for SGD+momentum), `adam`, or `adamw` (decoupled weight decay)."""
    momentum: Annotated[Real, Field(ge=0.0, lt=1.0)] = 0.0
    """SGD only: momentum (0 is plain SGD; 0.9 is usual for SGD+momentum)."""
    nesterov: bool = False
    """SGD only: Nesterov momentum (needs `momentum` above 0)."""
    betas: tuple[Probability, Probability] = (0.9, 0.999)
    """Adam and AdamW only: coefficients of the running averages of gradient and its square."""

    @model_validator(mode="after")
    def _sgd_options(self) -> Optimizer:
        if self.name != "sgd" and self.momentum:
            raise located(f"momentum applies to sgd; {self.name} uses `betas`", ("momentum",))
        if self.nesterov and (self.name != "sgd" or self.momentum == 0):
            raise located("nesterov needs optimizer sgd with momentum above 0", ("nesterov",))
        return self


class RandomCrop(Section):
    """Pad the image, then crop a random window of the original size, like torchvision's
    `RandomCrop(size, padding=padding, padding_mode=padding_mode)`."""

    padding: Annotated[Whole, Field(ge=0, le=512)] = 16
    """Pixels of padding on each side before cropping."""
    padding_mode: Literal["constant", "edge", "reflect", "symmetric"] = "constant"
    """How the padding is filled: `constant` pads with black, as torchvision does by default;
    `edge` repeats the border pixels; `reflect` and `symmetric` mirror the image."""


class Affine(Section):
    """A random rotation, translation and scaling, like torchvision's `RandomAffine`: what is
    left out is not done (`affine: {degrees: 10}` is `RandomAffine(10)`: no shift, no scaling);
    a bare `affine: {}` rotates by up to 15 degrees and nothing else."""

    degrees: Annotated[Real, Field(ge=0.0, le=180.0)] = 15.0
    """Rotate by up to this many degrees either way."""
    translate: tuple[Probability, Probability] | None = None
    """Shift by up to this fraction of the width and the height; leave out for no shift."""
    scale: tuple[PositiveFloat, PositiveFloat] | None = None
    """Scale by a factor between these two; leave out for no scaling."""

    @field_validator("scale")
    @classmethod
    def _ordered(cls, scale: tuple[float, float] | None) -> tuple[float, float] | None:
        if scale is not None and scale[0] > scale[1]:
            raise ValueError(f"scale goes from low to high, got [{scale[0]}, {scale[1]}]")
        return scale


class Mix(Section):
    """Blend pairs of training images and their labels, per batch: each image with its
    neighbour in the (shuffled) batch, by a weight drawn from Beta(alpha, alpha); the loss is
    taken against the blended (soft) labels."""

    alpha: PositiveFloat = 1.0
    """Concentration of the Beta(alpha, alpha) weight: 1.0 draws it uniformly; below 1 most
    images stay mostly themselves; above 1 blends near half and half are common."""
    p: Probability = 1.0
    """Probability that a training batch is mixed (decided once per batch)."""


class Augment(Section):
    """Random changes to training images against overfitting (validation images are never
    augmented)."""

    horizontal_flip: Probability = 0.0
    """Probability of mirroring an image left to right."""
    random_crop: RandomCrop | None = None
    """Random crop after padding; leave out (or `null`) for none."""
    affine: Affine | None = None
    """Random rotation, translation and scaling; leave out (or `null`) for none."""
    grayscale: Probability = 0.0
    """Probability of turning an image grey (kept as three channels)."""
    mixup: Mix | None = None
    """Mixup (torchvision's `MixUp`): blend whole images, e.g. `{alpha: 0.2, p: 1.0}`; leave
    out for none. With `cutmix` too, each mixed batch takes one of them (see `cutmix`)."""
    cutmix: Mix | None = None
    """CutMix (torchvision's `CutMix`): paste a random box of the neighbour's image, labels
    weighted by area, e.g. `{alpha: 1.0, p: 0.5}`; leave out for none. With `mixup` too, a batch
    is mixed with probability max(p) and then takes cutmix or mixup in the ratio of their `p`."""


class Loss(Section):
    """The training loss (validation always reports the plain cross-entropy)."""

    label_smoothing: Annotated[Real, Field(ge=0.0, lt=1.0)] = 0.0
    """Label smoothing of the training cross-entropy (`nn.CrossEntropyLoss(label_smoothing=)`):
    the target keeps 1 - x on the true class and spreads x evenly over all classes; 0.1 is
    usual. Validation loss stays the plain cross-entropy."""


LearningRate = Annotated[Real, Field(gt=0.0, le=10.0)]
WeightDecay = Annotated[Real, Field(ge=0.0, le=1.0)]


class EarlyStop(Section):
    """Stop when the monitored metric has not improved for a while."""

    patience: Annotated[Whole, Field(ge=1, le=10_000)] = 10
    """Epochs without a new best before the run stops."""
    min_delta: NonNegativeFloat = 0.0
    """Smallest change that counts as an improvement."""


class Schedule(Section):
    """How long to train and what changes per epoch."""

    epochs: Annotated[Whole, Field(ge=1, le=10_000)] = 10
    """Number of epochs (they count from 0)."""
    lr: schedule_of(LearningRate, "Lr") = 0.01  # type: ignore[valid-type]
    """Learning rate: a number or a per-epoch schedule (see the README's schedule forms)."""
    batch_size: schedule_of(BatchSize, "BatchSize") = 32  # type: ignore[valid-type]
    """Images per training step: a number or a per-epoch schedule (rounded to whole images). With
    several processes (`runtime.gpus`) it is the batch of all of them together, split evenly among
    them, so a step, an epoch and the lr mean the same with 1 or N processes."""
    weight_decay: schedule_of(WeightDecay, "WeightDecay") = 0.0  # type: ignore[valid-type]
    """L2 penalty: a number or a per-epoch schedule."""
    early_stop: EarlyStop | None = None
    """Stop early when `checkpoint.monitor` stalls; leave out to always run every epoch."""

    @field_validator("lr", "batch_size", "weight_decay")
    @classmethod
    def _fits_epochs(cls, spec: Any, info: ValidationInfo) -> Any:
        epochs = info.data.get("epochs")
        if epochs is None:
            return spec  # epochs itself is invalid and already reported
        problem = check_epochs(spec, epochs)
        if problem is not None:
            key = offending_key(spec, epochs)
            raise located(problem, (key,) if key is not None else ())
        return spec


class Checkpoint(Section):
    """Which epoch's model is kept, and how it is written."""

    monitor: Literal["val_acc", "val_loss"] = "val_acc"
    """Metric that picks the best epoch (`val_acc`: highest; `val_loss`: lowest)."""
    chunk_mb: Annotated[Real, Field(gt=0.0, le=4096.0)] = 45.0
    """Size of each checkpoint piece in MiB; 45 stays under git hosts' 50 MB warning."""


class Ema(Section):
    """An exponential moving average of the weights (and buffers), like timm's ModelEmaV2 and
    torchvision's references: each epoch evaluates it beside the raw weights, and it is what the
    best checkpoint keeps."""

    decay: Annotated[Real, Field(ge=0.0, lt=1.0)] = 0.9998
    """Share of the average kept at each optimizer step (0.9998 forgets over ~5000 steps; use
    0.99 to 0.999 on small data sets with few steps per epoch)."""
    warmup_epochs: Annotated[Whole, Field(ge=0, le=10_000)] = 1
    """Epochs during which the average only copies the weights (the first, fast-moving ones
    would otherwise linger in it); averaging starts after them."""


class Runtime(Section):
    """Where and how the arithmetic runs."""

    device: Annotated[str, Field(pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$")] = "auto"
    """`auto` (a GPU when there is one), `cpu`, `cuda`, `cuda:N` or `mps`."""

    @field_validator("device", mode="wrap")
    @classmethod
    def _device_named(cls, device: Any, handler: Any) -> str:
        try:
            return str(handler(device))
        except ValueError:
            raise PydanticCustomError(
                "unknown_device",
                "expected auto, cpu, cuda, cuda:N or mps (got '{device}')",
                {"device": device},
            ) from None

    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    """Arithmetic precision (`auto`: fp32 or bf16 on a CPU, as measured fastest on this machine
    for the model, image size and batch size; see `hw3tui tune`)."""
    channels_last: Literal["auto"] | bool = "auto"
    """Memory layout of images and weights (`auto`: channels-last or not, measured with the
    precision)."""
    compile: bool = False
    """Compile the model with torch.compile (slow to start; pays off on long GPU runs)."""
    gpus: Annotated[Whole, Field(ge=1, le=1024)] = 1
    """GPUs to train on, one process each: above 1, `hw3tui run` starts torchrun itself
    (DistributedDataParallel; `hw3tui run --nproc N` runs N CPU processes where there is no GPU).
    Needs `device` auto or cuda."""

    @model_validator(mode="after")
    def _gpus_on_cuda(self) -> Runtime:
        if self.gpus > 1 and self.device not in ("auto", "cuda"):
            raise located(
                f"{self.gpus} GPUs need device auto or cuda (got {self.device}; each process "
                "takes its own GPU)",
                ("gpus",),
            )
        return self


class Preset(Section):
    """An hw3tui experiment: data, model, optimizer, augmentation, schedules, checkpointing."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=64)] = (
        "experiment"
    )
    """Name of the experiment; runs are stored as runs/<name>-<date>-<time>."""

    @field_validator("name", mode="wrap")
    @classmethod
    def _usable_as_folder(cls, name: Any, handler: Any) -> str:
        try:
            return str(handler(name))
        except ValueError:
            if not isinstance(name, str):
                raise
            raise PydanticCustomError(
                "unknown_name",
                "use letters, digits, '.', '_' and '-' (it names the run folder), "
                "up to 64 characters (got '{name}')",
                {"name": name},
            ) from None

    seed: Annotated[Whole, Field(ge=0, le=2**32 - 1)] = 0
    """Seed for data splits, shuffling, augmentation and initialisation."""
    data: Data = Data()
    """Where the images come from."""
    backbone: Backbone = Backbone()
    """The torchvision model to fine-tune."""
    optimizer: Optimizer = Optimizer()
    """The optimizer."""
    augment: Augment = Augment()
    """Training-time augmentation."""
    loss: Loss = Loss()
    """The training loss."""
    schedule: Schedule = Schedule()
    """Epochs and per-epoch schedules."""
    checkpoint: Checkpoint = Checkpoint()
    """Best-model checkpointing."""
    ema: Ema | None = None
    """Keep an exponential moving average of the weights: `val_acc` is then the average's, the
    best checkpoint holds it, and `val_acc_raw` the raw weights'. Leave out for none."""
    runtime: Runtime = Runtime()
    """Device and precision."""


SECTIONS: tuple[str, ...] = tuple(Preset.model_fields)
