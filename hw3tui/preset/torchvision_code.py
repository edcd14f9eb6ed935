"""A preset's training transforms as the torchvision code that means the same thing.

`hw3tui augment PRESET --torchvision` prints it, so a student can check a port from a notebook
(`RandomAffine(10)` is `affine: {degrees: 10}`) or paste it back into one. Text only: no torch.
The differences that remain are written as comments under the code, not hidden.

Mixup and CutMix work on whole batches, so they come out as torchvision's own tutorial writes
them ("How to use CutMix and MixUp"): `v2.MixUp` / `v2.CutMix` (with `v2.RandomChoice` when
both are on, and `v2.RandomApply` for the per-batch probability) in the DataLoader's
`collate_fn`.
"""

from __future__ import annotations

from hw3tui.preset.models import Augment, Preset

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _pair(values: tuple[float, float]) -> str:
    return f"({_number(values[0])}, {_number(values[1])})"


def augment_calls(augment: Augment, size: int) -> list[str]:
    """The torchvision v2 transforms of `augment`, in the order the engine applies them."""
    calls: list[str] = []
    if augment.random_crop is not None:
        crop = augment.random_crop
        calls.append(
            f"v2.RandomCrop({size}, padding={crop.padding}, padding_mode={crop.padding_mode!r})"
        )
    if augment.horizontal_flip > 0:
        calls.append(f"v2.RandomHorizontalFlip(p={_number(augment.horizontal_flip)})")
    if augment.affine is not None:
        a = augment.affine
        arguments = [_number(a.degrees)]
        if a.translate is not None:
            arguments.append(f"translate={_pair(a.translate)}")
        if a.scale is not None:
            arguments.append(f"scale={_pair(a.scale)}")
        arguments.append("interpolation=v2.InterpolationMode.BILINEAR")
        calls.append(f"v2.RandomAffine({', '.join(arguments)})")
    if augment.grayscale > 0:
        calls.append(f"v2.RandomGrayscale(p={_number(augment.grayscale)})")
    return calls


LOADER_HINT = (
    "# train_loader = DataLoader(train_set, batch_size=..., shuffle=True, collate_fn=collate_fn)"
)


def batch_mix_code(augment: Augment, classes: int) -> str:
    """The preset's mixup and cutmix as a `collate_fn` (empty when neither is on). A batch is
    mixed with probability max(p), then takes CutMix or MixUp in the ratio of their `p`: what
    `RandomApply` around a `RandomChoice` (which normalises its `p`) does."""
    chosen = [(n, m) for n, m in (("mixup", augment.mixup), ("cutmix", augment.cutmix)) if m]
    if not chosen:
        return ""
    lines = [f"NUM_CLASSES = {classes}"]
    for name, mix in chosen:
        call = "MixUp" if name == "mixup" else "CutMix"
        # a float: torchvision's Beta sampling fails on an integer alpha (`alpha=1`)
        lines.append(f"{name} = v2.{call}(alpha={float(mix.alpha)!r}, num_classes=NUM_CLASSES)")
    mixing = chosen[0][0]
    if len(chosen) == 2:
        weights = [_number(mix.p) for _, mix in chosen]
        ratio = "" if weights[0] == weights[1] else f", p=[{', '.join(weights)}]"
        lines.append(f"mixup_or_cutmix = v2.RandomChoice([mixup, cutmix]{ratio})")
        mixing = "mixup_or_cutmix"
    p = max(mix.p for _, mix in chosen)
    if p < 1:  # the other batches keep their class indices (CrossEntropyLoss takes either)
        mixing = f"v2.RandomApply([{mixing}], p={_number(p)})"
    names = " and ".join("MixUp" if n == "mixup" else "CutMix" for n, _ in chosen)
    return "\n".join(
        [
            "",
            f"# {names} on whole batches (targets become soft: a row per image summing to 1),",
            "# in the DataLoader's collate_fn as torchvision's tutorial does; each image is mixed",
            "# with its neighbour in the batch, as hw3tui mixes it",
            *lines,
            f"batch_mix = {mixing}",
            "",
            "",
            "def collate_fn(batch):",
            "    return batch_mix(*default_collate(batch))",
            "",
            "",
            LOADER_HINT,
            "",
        ]
    )


def torchvision_code(preset: Preset, *, classes: int | None = None) -> str:
    """Python source of the `transforms.v2.Compose` that trains on what this preset trains on,
    and of the `collate_fn` that mixes its batches when `mixup` or `cutmix` is on (`classes`:
    the training set's number of classes; a `shapes` preset knows its own)."""
    size = preset.data.image_size
    steps = [
        f"v2.Resize({size})",
        f"v2.CenterCrop({size})",
        *augment_calls(preset.augment, size),
        "v2.ToDtype(torch.float32, scale=True)",
        f"v2.Normalize(mean={list(IMAGENET_MEAN)}, std={list(IMAGENET_STD)})",
    ]
    body = "".join(f"    {step},\n" for step in steps)
    if classes is None and preset.data.source == "shapes":
        classes = preset.data.shapes.classes
    mixing = batch_mix_code(preset.augment, classes) if classes is not None else ""
    if not mixing and (preset.augment.mixup is not None or preset.augment.cutmix is not None):
        raise ValueError("mixup and cutmix need the number of classes")
    collate = "from torch.utils.data import default_collate\n" if mixing else ""
    return (
        "import torch\n"
        f"{collate}"
        "from torchvision.transforms import v2\n"
        "\n"
        f"# training transforms of preset {preset.name}, for a PIL image or a uint8 tensor\n"
        f"train_transforms = v2.Compose([\n    v2.ToImage(),\n{body}])\n"
        "# hw3tui draws these on whole batches with one random draw per image (seeded by run\n"
        "# seed, epoch and step); the images are resized and centre cropped once, when decoded.\n"
        f"{mixing}"
    )
