"""What `runtime: auto` picks, and a device the machine lacks."""

from __future__ import annotations

import pytest
import torch

from hw3tui.engine.runtime import DeviceError, choose_device, choose_runtime, choose_workers
from hw3tui.preset.models import Runtime as RuntimeSpec

CPU = torch.device("cpu")


@pytest.mark.parametrize(
    ("backbone", "size", "channels_last"),
    [
        ("mobilenet_v2", 48, True),
        ("efficientnet_b0", 224, True),
        ("resnet50", 64, True),
        ("resnet18", 48, False),
        ("resnet18", 128, True),
        ("vit_b_16", 224, False),
        ("swin_t", 224, False),
    ],
)
def test_auto_on_cpu(backbone: str, size: int, channels_last: bool) -> None:
    chosen = choose_runtime(
        RuntimeSpec(device="cpu"), backbone=backbone, image_size=size, cached=True, workers="auto"
    )
    assert chosen.device == CPU
    assert chosen.precision == "fp32"
    assert chosen.channels_last is channels_last
    assert chosen.workers == 0


def test_explicit_settings_win() -> None:
    spec = RuntimeSpec(device="cpu", precision="bf16", channels_last=True)
    chosen = choose_runtime(spec, backbone="resnet18", image_size=32, cached=False, workers=3)
    assert (chosen.precision, chosen.channels_last, chosen.workers) == ("bf16", True, 3)


def test_workers_auto() -> None:
    assert choose_workers("auto", device=CPU, cached=True, cores=16) == 0
    assert choose_workers("auto", device=CPU, cached=False, cores=2) == 0
    assert choose_workers("auto", device=CPU, cached=False, cores=16) == 4
    assert choose_workers("auto", device=torch.device("cuda"), cached=False, cores=16) == 8


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_missing_gpu_is_bad_input() -> None:
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        choose_device("cuda:0")
