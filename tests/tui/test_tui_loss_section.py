"""The editor shows every preset section, the training loss's included, with its help."""

from __future__ import annotations

from hw3tui.preset.models import Preset
from hw3tui.tui.fields import SECTION_TITLES, section_fields


def test_every_preset_section_has_an_editor_section() -> None:
    assert set(Preset.model_fields) - {"name", "seed"} <= set(SECTION_TITLES)


def test_the_loss_section_edits_label_smoothing_with_its_help() -> None:
    fields = {spec.path: spec for spec in section_fields("loss")}
    smoothing = fields[("loss", "label_smoothing")]
    assert "CrossEntropyLoss(label_smoothing=)" in smoothing.help
    assert "Validation loss stays the plain cross-entropy" in smoothing.help
    mixup = {spec.path: spec for spec in section_fields("augment")}[("augment", "mixup")]
    assert mixup.kind == "optional" and "MixUp" in mixup.help
