"""Backbones: any torchvision classification model, its classifier head sized for the data.

The model is built with `num_classes` set to the data's class count, so its state_dict is exactly
what `torchvision.models.get_model(name, num_classes=n)` expects. Pretrained weights (torchvision's
ImageNet weights, or a file) are then loaded into everything but the head; a head of another size
in the weights is simply not loaded (the new head starts fresh). Weights for another architecture
are a `WeightsError` naming what does not fit.
"""

from __future__ import annotations

import re
import urllib.error
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn

from hw3tui.errors import WeightsError as WeightsError  # defined with its family

AUX_PREFIXES = ("aux1.", "aux2.", "AuxLogits.")
"""googlenet / inception_v3 auxiliary classifiers: trained with their own loss in the papers, off
here (one head, one loss), and dropped from weights files."""
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
"""Prefixes DataParallel/DDP and torch.compile add to state_dict keys."""
STATE_DICT_KEYS = ("state_dict", "model", "model_state_dict", "net", "weights")
"""Where training scripts commonly nest the state_dict inside a saved dict."""
_DENSENET_OLD_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)


def build_model(
    name: str, *, num_classes: int, image_size: int, pretrained: bool | Path, base_dir: Path
) -> nn.Module:
    """The backbone `name` with a `num_classes` head, pretrained as the preset says.

    Seed torch before calling: a fresh head (and a model trained from scratch) is drawn from
    torch's global generator.
    """
    model: nn.Module = torchvision.models.get_model(
        name, **model_kwargs(name, num_classes, image_size)
    )
    if pretrained is False:
        return model
    if pretrained is True:
        weights, source = imagenet_weights(name), f"torchvision's {name} ImageNet weights"
        weights = _fit_embeddings(name, weights, image_size)
    else:
        path = pretrained.expanduser()
        path = path if path.is_absolute() else base_dir / path
        weights, source = read_weights_file(path), str(path)
    load_backbone(model, weights, name=name, source=source)
    return model


def model_kwargs(name: str, num_classes: int, image_size: int) -> dict[str, Any]:
    """What get_model needs besides the name: class count, aux heads off, input size."""
    kwargs: dict[str, Any] = {"num_classes": num_classes}
    if name in ("googlenet", "inception_v3"):
        kwargs.update(aux_logits=False, init_weights=True)
    if name.startswith("vit_"):
        patch = int(re.findall(r"\d+", name)[-1])
        if image_size % patch:
            raise WeightsError(
                f"{name} needs data.image_size divisible by its patch size {patch} "
                f"(got {image_size}; e.g. {max(patch, image_size // patch * patch)})"
            )
        kwargs["image_size"] = image_size
    if name.startswith("maxvit"):
        kwargs["input_size"] = (image_size, image_size)
    return kwargs


def head_prefix(model: nn.Module) -> str:
    """The classifier head's module path: the last Linear layer (fc, classifier.1, heads.head,
    head, ...), or squeezenet's final 1x1 convolution."""
    if isinstance(model, torchvision.models.SqueezeNet):
        return "classifier.1"
    last: str | None = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            last = name
    if last is None:
        raise WeightsError(f"cannot find the classifier head of {type(model).__name__}")
    return last


def imagenet_weights(name: str) -> dict[str, torch.Tensor]:
    """torchvision's default ImageNet weights for `name`: from torch's cache, else downloaded."""
    weights = torchvision.models.get_model_weights(name).DEFAULT
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    file_name = weights.url.rsplit("/", 1)[-1]
    try:
        state = weights.get_state_dict(progress=False, check_hash=True, weights_only=True)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
        if (folder / file_name).is_file() and not isinstance(exc, urllib.error.URLError):
            raise WeightsError(f"cannot read {folder / file_name}: {exc}") from None
        raise WeightsError(
            f"cannot download {name}'s ImageNet weights ({_reason(exc)}): put {file_name} "
            f"(from {weights.url}) in {folder}/, or set backbone.pretrained to a weights file "
            "(pretrained: path/to/weights.safetensors or .pth)"
        ) from None
    except RuntimeError as exc:  # a corrupt cached file
        raise WeightsError(f"cannot read {folder / file_name}: {exc}") from None
    return dict(state)


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
    return f"offline? {reason}"


def _fit_embeddings(
    name: str, state: dict[str, torch.Tensor], image_size: int
) -> dict[str, torch.Tensor]:
    """ViT weights trained at 224 px: interpolate their position embeddings to the data's size."""
    if not name.startswith("vit_"):
        return state
    from torchvision.models.vision_transformer import interpolate_embeddings

    patch = int(re.findall(r"\d+", name)[-1])
    return dict(interpolate_embeddings(image_size, patch, dict(state)))


def read_weights_file(path: Path) -> dict[str, torch.Tensor]:
    """A state_dict from a weights file: `.safetensors` (also an hw3tui run, `best/` folder or chunk
    prefix) or a torchvision `.pth` (read with weights_only=True: nothing is unpickled)."""
    from hw3tui.engine.checkpoint import CheckpointError, load_weights

    if not (path.exists() or any(path.parent.glob(f"{path.name}.[0-9][0-9][0-9]"))):
        raise WeightsError(f"backbone.pretrained: no such weights file: {path}")
    try:
        raw = load_weights(path)
    except CheckpointError as exc:
        raise WeightsError(f"backbone.pretrained: {exc}") from None
    return _state_dict_in(raw, path)


def _state_dict_in(raw: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(raw, Mapping):
        for key in STATE_DICT_KEYS:
            if isinstance(raw.get(key), Mapping):
                raw = raw[key]
                break
    if not isinstance(raw, Mapping) or not raw:
        raise WeightsError(f"{path}: holds no state_dict (a mapping of names to tensors)")
    state: dict[str, torch.Tensor] = {}
    for key, value in raw.items():
        if isinstance(key, str) and isinstance(value, torch.Tensor):
            for prefix in WRAPPER_PREFIXES:
                key = key.removeprefix(prefix)
            state[key] = value
    if not state:
        raise WeightsError(f"{path}: holds no tensors")
    return state


def load_backbone(
    model: nn.Module, state: Mapping[str, torch.Tensor], *, name: str, source: str
) -> None:
    """Load `state` into everything but the head of `model`; `WeightsError` if it does not fit."""
    state = _renamed(dict(state), name)
    head = head_prefix(model) + "."
    own = model.state_dict()
    usable: dict[str, torch.Tensor] = {}
    unexpected, wrong_shape = [], []
    for key, tensor in state.items():
        if key.startswith(AUX_PREFIXES):
            continue
        if key not in own:
            unexpected.append(key)
        elif tuple(tensor.shape) != tuple(own[key].shape):
            if not key.startswith(head):
                wrong_shape.append(f"{key} {list(tensor.shape)} vs {list(own[key].shape)}")
        else:
            usable[key] = tensor
    missing = [
        k
        for k in own
        if k not in usable and not k.startswith(head) and not k.endswith("num_batches_tracked")
    ]
    if unexpected or wrong_shape or missing:
        problems = []
        if wrong_shape:
            problems.append(f"shapes differ: {_few(wrong_shape)}")
        if missing:
            problems.append(f"missing: {_few(missing)}")
        if unexpected:
            problems.append(f"not in {name}: {_few(unexpected)}")
        raise WeightsError(f"{source} does not fit {name} ({'; '.join(problems)})")
    model.load_state_dict(usable, strict=False)


def _renamed(state: dict[str, torch.Tensor], name: str) -> dict[str, torch.Tensor]:
    if not name.startswith("densenet"):
        return state
    # torchvision's own densenet weights use old key names ("norm.1"); it renames them on load
    renamed = {}
    for key, tensor in state.items():
        match = _DENSENET_OLD_KEY.match(key)
        renamed[match.group(1) + match.group(2) if match else key] = tensor
    return renamed


def _few(items: list[str]) -> str:
    shown = ", ".join(items[:3])
    return shown + (f" and {len(items) - 3} more" if len(items) > 3 else "")
