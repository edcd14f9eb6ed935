"""An augmentation block means what the same torchvision transform means."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from torchvision.transforms import v2

from hw3tui.cli import cli
from hw3tui.engine.data.augment import affine, random_crop
from hw3tui.preset import load_preset
from hw3tui.preset.models import Augment, Preset
from hw3tui.preset.torchvision_code import torchvision_code

REPO = Path(__file__).resolve().parents[2]


def compose_of(preset: Preset) -> list[Any]:
    """Run the printed code and return its transforms."""
    scope: dict[str, Any] = {}
    exec(torchvision_code(preset), scope)  # our own generated code, under test
    return list(scope["train_transforms"].transforms)


def preset_with(augment: dict[str, Any]) -> Preset:
    return Preset.model_validate({"data": {"image_size": 32}, "augment": augment})


def test_degrees_alone_is_random_affine_of_degrees_alone() -> None:
    written = preset_with({"affine": {"degrees": 10}})
    assert written.augment.affine is not None
    assert written.augment.affine.translate is None and written.augment.affine.scale is None
    (port,) = [t for t in compose_of(written) if isinstance(t, v2.RandomAffine)]
    reference = v2.RandomAffine(10)
    assert port.degrees == reference.degrees
    assert port.translate is None and port.scale is None  # what RandomAffine(10) has


def test_the_engine_affine_of_degrees_zero_moves_nothing_without_translate_or_scale() -> None:
    images = torch.rand(8, 3, 16, 16)
    out = affine(degrees=0.0, translate=None, scale=None)(images, torch.Generator().manual_seed(0))
    assert torch.allclose(out, images, atol=1e-5)


def test_padding_alone_pads_with_zeros_like_torchvision() -> None:
    written = preset_with({"random_crop": {"padding": 4}})
    assert written.augment.random_crop is not None
    assert written.augment.random_crop.padding_mode == "constant"
    (port,) = [t for t in compose_of(written) if isinstance(t, v2.RandomCrop)]
    assert port.padding_mode == v2.RandomCrop(32, padding=4).padding_mode == "constant"
    # the engine with the preset's values: the corner window of a white image shows black
    white = torch.ones(32, 3, 8, 8)
    crop = written.augment.random_crop
    out = random_crop(padding=crop.padding, padding_mode=crop.padding_mode)(
        white, torch.Generator().manual_seed(0)
    )
    assert (out == 0).any()


def test_bare_affine_is_rotation_only_and_documented() -> None:
    bare = Augment.model_validate({"affine": {}})
    assert bare.affine is not None
    assert (bare.affine.degrees, bare.affine.translate, bare.affine.scale) == (15.0, None, None)
    readme = (REPO / "README.md").read_text()
    assert "a bare `affine: {}` rotates by up to 15 degrees and nothing else" in readme


@pytest.mark.parametrize("name", ["mobilenetv2", "resnet50"])
def test_shipped_recipes_keep_what_they_meant(name: str) -> None:
    augment = load_preset(name).preset.augment
    assert augment.random_crop is not None and augment.affine is not None
    assert (augment.random_crop.padding, augment.random_crop.padding_mode) == (16, "reflect")
    assert augment.affine.translate == (0.1, 0.1) and augment.affine.scale == (0.9, 1.1)


def test_augment_prints_the_equivalent_compose() -> None:
    result = CliRunner().invoke(
        cli,
        ["augment", "quickstart", "--torchvision", "--set", "augment.affine={degrees: 10}"],
    )
    assert result.exit_code == 0, result.output
    assert "v2.RandomAffine(10, interpolation=v2.InterpolationMode.BILINEAR)" in result.output
    assert "v2.RandomHorizontalFlip(p=0.5)" in result.output
    compile(result.output, "printed", "exec")  # it is Python


def test_augment_without_an_output_is_bad_input() -> None:
    result = CliRunner().invoke(cli, ["augment", "quickstart"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0


@pytest.mark.parametrize(
    ("sets", "shown", "hidden"),
    [
        (["augment.mixup={alpha: 0.4, p: 0.8}", "augment.cutmix={alpha: 1.0, p: 0.5}"],
         ["v2.MixUp(alpha=0.4, num_classes=NUM_CLASSES)", "v2.CutMix(alpha=1.0, num_classes=",
          "v2.RandomChoice([mixup, cutmix], p=[0.8, 0.5])",
          "RandomApply([mixup_or_cutmix], p=0.8)"],
         []),
        (["augment.cutmix={alpha: 1.0, p: 1.0}"], ["batch_mix = cutmix\n"],
         ["MixUp", "RandomApply"]),
    ],
    ids=["mixup-and-cutmix", "cutmix-always"],
)  # fmt: skip
def test_augment_prints_mixup_and_cutmix_as_a_collate_fn_that_mixes_a_batch(
    sets: list[str], shown: list[str], hidden: list[str]
) -> None:
    """The printed code runs: the training transforms on 7 images, then the collate_fn."""
    result = CliRunner().invoke(
        cli, ["augment", str(REPO / "tests" / "data" / "tiny.yaml"), "--torchvision",
              *(a for s in sets for a in ("--set", s))],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for text in shown:
        assert text in result.output
    for text in hidden:
        assert text not in result.output
    scope: dict[str, Any] = {}
    exec(result.output, scope)  # our own printed code, under test
    assert scope["NUM_CLASSES"] == 3  # the preset's shapes classes
    images = torch.randint(0, 256, (7, 3, 32, 32), dtype=torch.uint8)
    batch = [(scope["train_transforms"](image), i % 3) for i, image in enumerate(images)]
    for seed in range(6):  # draws that mix and, with p < 1, draws that do not
        torch.manual_seed(seed)
        images, targets = scope["collate_fn"](batch)
        assert images.shape == (7, 3, 32, 32)
        if targets.ndim == 2:  # mixed: soft targets summing to 1 per image
            assert torch.allclose(targets.sum(1), torch.ones(7))
        else:
            assert targets.tolist() == [i % 3 for i in range(7)]


def test_augment_without_mixing_prints_no_collate_fn() -> None:
    result = CliRunner().invoke(cli, ["augment", "quickstart", "--torchvision"])
    assert result.exit_code == 0, result.output
    assert "collate_fn" not in result.output and "MixUp" not in result.output
