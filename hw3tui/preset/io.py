"""The one loader and the one saver of presets.

`load_preset` reads a file (or a built-in preset's name), applies `--set` overrides and validates,
raising `PresetError` with every problem located. `check_text` does the same for text being edited
(the TUI). `set_value` and `save_text` change and write presets while keeping comments and layout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hw3tui.atomic import write_text_atomic
from hw3tui.preset.explain import Loc, explain
from hw3tui.preset.models import Preset, Section
from hw3tui.preset.problems import PresetError, Problem
from hw3tui.preset.shorten import EPOCHS, cut_to_epochs
from hw3tui.preset.yamlio import (
    flow,
    parse,
    read_file,
    set_in_text,
    to_plain,
    top_position,
)

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadedPreset:
    """A validated preset and the exact text it came from (overrides applied)."""

    preset: Preset
    text: str
    source: str
    path: Path | None = None
    overrides: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())
    """What an override made moot (e.g. schedule entries past a shortened run), one line each."""


def builtin_presets() -> dict[str, Path]:
    """The presets shipped with hw3tui, by name (`quickstart`, `mobilenetv2`, `resnet50`)."""
    folder = resources.files("hw3tui") / "presets"
    return {
        Path(str(entry)).stem: Path(str(entry))
        for entry in folder.iterdir()
        if Path(str(entry)).suffix in SUFFIXES
    }


def resolve(name_or_path: str | Path) -> Path:
    """A preset file from a path, or from the name of a built-in preset."""
    path = Path(name_or_path)
    if path.exists():
        if path.is_dir():
            raise PresetError.single(str(name_or_path), "is a folder, not a preset file")
        return path
    builtin = builtin_presets().get(str(name_or_path))
    if builtin is not None:
        return builtin
    known = ", ".join(sorted(builtin_presets()))
    raise PresetError.single(str(name_or_path), f"no such file (built-in presets: {known})")


def load_preset(name_or_path: str | Path, overrides: Sequence[str] = ()) -> LoadedPreset:
    """Read, override and validate a preset; `PresetError` lists every problem with its line."""
    path = resolve(name_or_path)
    source = str(name_or_path)
    return validate_text(read_file(path, source), source, overrides, path=path)


def validate_text(
    text: str, source: str, overrides: Sequence[str] = (), *, path: Path | None = None
) -> LoadedPreset:
    """Validate preset text (after applying `overrides`), raising `PresetError` on problems."""
    text, overridden = apply_overrides(text, source, overrides)
    warnings: tuple[str, ...] = ()
    if EPOCHS in overridden:
        text, warning = cut_to_epochs(text, source)
        warnings = (f"--set {overridden[EPOCHS]}: {warning}",) if warning else ()
    preset, problems = _check(text, source, overridden)
    if preset is None:
        raise PresetError(problems)
    return LoadedPreset(preset, text, source, path, tuple(overrides), warnings)


def check_text(text: str, source: str) -> tuple[Preset | None, list[Problem]]:
    """Validate text being edited: the preset, or the problems (never raises for bad input)."""
    try:
        return _check(text, source, {})
    except PresetError as exc:
        return None, list(exc.problems)


def _check(
    text: str, source: str, overridden: Mapping[Loc, str]
) -> tuple[Preset | None, list[Problem]]:
    document = parse(text, source).data
    if document is None:
        return None, [Problem(source, "the preset is empty; copy one of presets/ to start")]
    if not isinstance(document, Mapping):
        kind = (
            "a list"
            if isinstance(document, list)
            else f"a single value ({flow(to_plain(document))})"
        )
        line, column = top_position(text)
        return None, [
            Problem(
                source,
                f"a preset is a mapping of sections (name, data, backbone, ...), not {kind}",
                line=line,
                column=column,
            )
        ]
    try:
        return Preset.model_validate(to_plain(document)), []
    except ValidationError as exc:
        return None, explain(exc, document, source, overridden)


def field_path(dotted: str) -> Loc:
    """`schedule . lr` as ("schedule", "lr"): a dotted path as `--set` reads it (parts stripped,
    list indices as numbers), so two spellings of one field compare equal."""
    parts = [p.strip() for p in dotted.strip().split(".")]
    return tuple(int(p) if p.isdigit() else p for p in parts)


def parse_override(override: str) -> tuple[Loc, Any]:
    """`schedule.lr=0.001` as (("schedule", "lr"), 0.001); the value is read as YAML."""
    where = f"--set {override}"
    if "=" not in override:
        raise PresetError.single(where, "expected field.path=value, e.g. schedule.epochs=20")
    dotted_path, _, raw = override.partition("=")
    path = field_path(dotted_path)
    if not dotted_path.strip() or any(p == "" for p in path):
        raise PresetError.single(where, "expected field.path=value, e.g. schedule.epochs=20")
    document = parse(f"value: {raw}\n" if raw.strip() else "value: null\n", where).data
    return path, to_plain(document["value"])


def apply_overrides(text: str, source: str, overrides: Sequence[str]) -> tuple[str, dict[Loc, str]]:
    """`text` with each `--set` applied in place (comments kept); which paths came from where."""
    overridden: dict[Loc, str] = {}
    problems: list[Problem] = []
    for override in overrides:
        try:
            path, value = parse_override(override)
            text = set_in_text(text, path, value, source)
        except PresetError as exc:
            problems.extend(Problem(f"--set {override}", p.message, p.field) for p in exc.problems)
            continue
        overridden[path] = override
    if problems:
        raise PresetError(problems)
    return text, overridden


def set_value(text: str, path: Loc, value: Any) -> str:
    """Preset text with one value changed; every other line stays byte for byte."""
    return set_in_text(text, path, value)


def save_text(path: Path, text: str) -> None:
    """Write preset text atomically (a crash never leaves half a preset)."""
    write_text_atomic(path, text)


def minimal_text(preset: Preset) -> str:
    """YAML of what `preset` changes from the defaults (and its name): new presets stay short."""
    defaults = effective(Preset())
    text = f"name: {flow(preset.name)}\n"
    for key, value in effective(preset).items():
        if key != "name" and value != defaults[key]:
            path = tuple(key.split("."))
            text = set_in_text(text, path, value)
    return text


def _yaml_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _yaml_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_yaml_ready(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def effective(preset: Preset) -> dict[str, Any]:
    """Every field of `preset`, defaults filled in, as dotted path -> plain value."""
    flat: dict[str, Any] = {}

    def walk(model: Any, prefix: str) -> None:
        for name, info in type(model).model_fields.items():
            value = getattr(model, name)
            key = f"{prefix}{name}"
            # optional sections (random_crop, affine, early_stop) stay whole: `null → {...}`
            if isinstance(value, Section) and isinstance(info.default, Section):
                walk(value, key + ".")
            else:
                flat[key] = _yaml_ready(
                    value.model_dump() if hasattr(value, "model_dump") else value
                )

    walk(preset, "")
    return flat


__all__ = [
    "LoadedPreset",
    "PresetError",
    "Problem",
    "apply_overrides",
    "builtin_presets",
    "check_text",
    "effective",
    "load_preset",
    "minimal_text",
    "parse_override",
    "resolve",
    "save_text",
    "set_value",
    "validate_text",
]
