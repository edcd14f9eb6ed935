"""Presets: the validated, shareable description of one experiment (no torch imported here)."""

from hw3tui.preset.io import (
    LoadedPreset,
    builtin_presets,
    check_text,
    effective,
    load_preset,
    minimal_text,
    resolve,
    save_text,
    set_value,
    validate_text,
)
from hw3tui.preset.models import Preset
from hw3tui.preset.problems import PresetError, Problem

__all__ = [
    "LoadedPreset",
    "Preset",
    "PresetError",
    "Problem",
    "builtin_presets",
    "check_text",
    "effective",
    "load_preset",
    "minimal_text",
    "resolve",
    "save_text",
    "set_value",
    "validate_text",
]
