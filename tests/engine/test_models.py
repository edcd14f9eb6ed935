"""Backbones: heads sized for the data, pretrained weights from files, clear errors otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import safetensors.torch
import torch
import torchvision

from hw3tui.engine.models import WeightsError, build_model, head_prefix, model_kwargs

HEADS = {
    "resnet18": "fc",
    "regnet_x_400mf": "fc",
    "shufflenet_v2_x0_5": "fc",
    "mobilenet_v2": "classifier.1",
    "mobilenet_v3_small": "classifier.3",
    "efficientnet_b0": "classifier.1",
    "mnasnet0_5": "classifier.1",
    "vgg11": "classifier.6",
    "alexnet": "classifier.6",
    "convnext_tiny": "classifier.2",
    "maxvit_t": "classifier.5",
    "densenet121": "classifier",
    "squeezenet1_1": "classifier.1",
    "vit_b_32": "heads.head",
    "swin_t": "head",
    "googlenet": "fc",
    "inception_v3": "fc",
}


@pytest.mark.parametrize(("name", "head"), sorted(HEADS.items()))
def test_every_family_gets_a_head_for_the_data(name: str, head: str) -> None:
    # shapes only (no memory, no time); regnet computes its widths with real tensors
    with torch.device("cpu" if name.startswith("regnet") else "meta"):
        model = torchvision.models.get_model(name, **model_kwargs(name, 7, 224))
    assert head_prefix(model) == head
    weights = [v for k, v in model.state_dict().items() if k.startswith(head + ".")]
    assert weights[0].shape[0] == 7
    assert not any(k.startswith(("aux1.", "AuxLogits.")) for k in model.state_dict())


def test_vit_needs_a_size_its_patches_divide() -> None:
    with pytest.raises(WeightsError, match="divisible by its patch size 32"):
        model_kwargs("vit_b_32", 3, 48)


def write_weights(path: Path, num_classes: int, name: str = "resnet18") -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    state = torchvision.models.get_model(name, num_classes=num_classes).state_dict()
    if path.suffix == ".safetensors":
        safetensors.torch.save_file(state, str(path))
    else:
        torch.save(state, path)
    return state


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_pretrained_file_loads_and_a_wrong_sized_head_is_replaced(
    tmp_path: Path, suffix: str
) -> None:
    saved = write_weights(tmp_path / f"weights{suffix}", num_classes=10)
    torch.manual_seed(2)
    model = build_model(
        "resnet18",
        num_classes=3,
        image_size=32,
        pretrained=Path(f"weights{suffix}"),
        base_dir=tmp_path,
    )
    loaded = model.state_dict()
    assert torch.equal(loaded["conv1.weight"], saved["conv1.weight"])
    assert torch.equal(loaded["layer4.1.bn2.running_var"], saved["layer4.1.bn2.running_var"])
    assert loaded["fc.weight"].shape == (3, 512)  # a fresh head for 3 classes


def test_pretrained_file_with_the_same_head_keeps_it(tmp_path: Path) -> None:
    saved = write_weights(tmp_path / "w.safetensors", num_classes=3)
    model = build_model(
        "resnet18",
        num_classes=3,
        image_size=32,
        pretrained=tmp_path / "w.safetensors",
        base_dir=tmp_path,
    )
    assert torch.equal(model.state_dict()["fc.weight"], saved["fc.weight"])


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    write_weights(tmp_path / "mobile.safetensors", num_classes=3, name="mobilenet_v3_small")
    with pytest.raises(WeightsError, match="does not fit resnet18") as caught:
        build_model(
            "resnet18",
            num_classes=3,
            image_size=32,
            pretrained=tmp_path / "mobile.safetensors",
            base_dir=tmp_path,
        )
    assert "\n" not in str(caught.value)


def test_missing_weights_file(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="no such weights file"):
        build_model(
            "resnet18", num_classes=3, image_size=32, pretrained=Path("nope.pth"), base_dir=tmp_path
        )


def test_a_pickled_object_is_refused(tmp_path: Path) -> None:
    torch.save({"model": torchvision.models.resnet18(num_classes=3)}, tmp_path / "whole.pth")
    with pytest.raises(WeightsError, match=r"whole\.pth"):
        build_model(
            "resnet18",
            num_classes=3,
            image_size=32,
            pretrained=tmp_path / "whole.pth",
            base_dir=tmp_path,
        )


def test_offline_imagenet_weights_name_the_file_and_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # nothing listens on port 9: any download attempt fails at once, as offline
    for variable in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    folder = Path(os.environ["TORCH_HOME"]) / "hub" / "checkpoints"
    with pytest.raises(WeightsError) as caught:
        build_model("resnet18", num_classes=3, image_size=32, pretrained=True, base_dir=Path.cwd())
    message = str(caught.value)
    assert "resnet18-f37072fd.pth" in message
    assert str(folder) in message
    assert "pretrained: path/to/weights" in message


def test_imagenet_weights_come_from_the_torch_cache(tmp_path: Path) -> None:
    folder = Path(os.environ["TORCH_HOME"]) / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.manual_seed(3)
    state = torchvision.models.resnet18().state_dict()
    # torchvision checks the hash prefix in the file name only when downloading
    torch.save(state, folder / "resnet18-f37072fd.pth")
    model = build_model(
        "resnet18", num_classes=4, image_size=32, pretrained=True, base_dir=tmp_path
    )
    assert torch.equal(model.state_dict()["layer1.0.conv1.weight"], state["layer1.0.conv1.weight"])
    assert model.state_dict()["fc.weight"].shape == (4, 512)
