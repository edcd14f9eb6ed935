"""The checked-in backbone list is exactly torchvision's classification models."""

from __future__ import annotations

import torchvision.models

from hw3tui.preset.backbones import CLASSIFICATION_MODELS


def test_list_matches_installed_torchvision() -> None:
    registry = set(torchvision.models.list_models(module=torchvision.models))
    assert set(CLASSIFICATION_MODELS) == registry, (
        "update hw3tui/preset/backbones.py: "
        f"missing {sorted(registry - CLASSIFICATION_MODELS)}, "
        f"gone {sorted(CLASSIFICATION_MODELS - registry)}"
    )
