"""A preset's training transforms as the torchvision code that means the same thing.

`hw3tui augment PRESET --torchvision` prints it, so a student can check a port from a notebook
(`RandomAffine(10)` is `affine: {degrees: 10}`) or paste it back into one. Text only: no torch.
The differences that remain are written as comments under the code, not hidden.
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


def torchvision_code(preset: Preset) -> str:
    """Python source of the `transforms.v2.Compose` that trains on what this preset trains on."""
    size = preset.data.image_size
    steps = [
        f"v2.Resize({size})",
        f"v2.CenterCrop({size})",
        *augment_calls(preset.augment, size),
        "v2.ToDtype(torch.float32, scale=True)",
        f"v2.Normalize(mean={list(IMAGENET_MEAN)}, std={list(IMAGENET_STD)})",
    ]
    body = "".join(f"    {step},\n" for step in steps)
    return (
        "import torch\n"
        "from torchvision.transforms import v2\n"
        "\n"
        f"# training transforms of preset {preset.name}, for a PIL image or a uint8 tensor\n"
        f"train_transforms = v2.Compose([\n    v2.ToImage(),\n{body}])\n"
        "# hw3tui draws these on whole batches with one random draw per image (seeded by run\n"
        "# seed, epoch and step); the images are resized and centre cropped once, when decoded.\n"
    )
