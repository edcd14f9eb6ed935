"""The JSON Schema of presets, for editors (YAML language servers) and other tools."""

from __future__ import annotations

from typing import Any

from hw3tui import __version__
from hw3tui.preset.models import Preset


def preset_schema() -> dict[str, Any]:
    """Draft 2020-12 JSON Schema with every field's docstring as its description."""
    schema = Preset.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://hw3tui.invalid/preset-{__version__}.schema.json",
        **schema,
        "title": "hw3tui preset",
    }
