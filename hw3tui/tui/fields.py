"""The editor's forms, read from the preset models: one `FieldSpec` per field.

The models are the single description of a preset (types, defaults, docstrings); the forms are
derived from them, so a field added to the models appears in the editor with its help text.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from hw3tui.preset.backbones import CLASSIFICATION_MODELS
from hw3tui.preset.models import Preset, Section

Loc = tuple[str | int, ...]

Kind = Literal["text", "yaml", "switch", "select", "section", "optional", "schedule"]
"""How a field is edited:
text      free text taken as it is typed (names, paths, patterns)
yaml      a YAML value (numbers, `[0.9, 0.999]`, `auto`, a path or true/false)
switch    a boolean
select    one of fixed choices
section   a nested model, always present (its fields follow)
optional  a nested model that can be left out (a switch turns it on; its fields follow)
schedule  a per-epoch schedule (lr, batch size, weight decay)
"""

SCHEDULED = ("lr", "batch_size", "weight_decay")

SUGGESTIONS: dict[Loc, tuple[str, ...]] = {
    ("backbone", "name"): tuple(sorted(CLASSIFICATION_MODELS)),
    ("runtime", "device"): ("auto", "cpu", "cuda", "cuda:0", "cuda:1", "mps"),
}


@dataclass(frozen=True)
class FieldSpec:
    """One editable field of the preset."""

    path: Loc
    kind: Kind
    help: str
    default: Any
    """The model's default (MISSING_DEFAULT for nested models)."""
    choices: tuple[Any, ...] = ()
    model: type[BaseModel] | None = None
    suggestions: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return str(self.path[-1])

    @property
    def dotted(self) -> str:
        return ".".join(str(p) for p in self.path)

    @property
    def children(self) -> list[FieldSpec]:
        return fields_of(self.model, self.path) if self.model is not None else []


SECTION_TITLES: dict[str, str] = {
    "": "General",
    "data": "Data",
    "backbone": "Backbone",
    "optimizer": "Optimizer",
    "augment": "Augment",
    "loss": "Loss",
    "schedule": "Schedule",
    "checkpoint": "Checkpoint",
    "ema": "EMA",
    "runtime": "Runtime",
}
"""The editor's sections in order ("" holds the preset's top-level scalars: name, seed)."""


def section_fields(section: str) -> list[FieldSpec]:
    """The fields of one editor section."""
    if not section:
        return [f for f in fields_of(Preset, ()) if f.kind not in ("section", "optional")]
    field = Preset.model_fields[section]
    model = _models(field.annotation)[0]
    return fields_of(model, (section,))


def section_help(section: str) -> str:
    if not section:
        return _doc(Preset)
    return _doc(_models(Preset.model_fields[section].annotation)[0])


def fields_of(model: type[BaseModel], prefix: Loc) -> list[FieldSpec]:
    return [_spec(model, name, info, prefix) for name, info in model.model_fields.items()]


def _spec(model: type[BaseModel], name: str, info: FieldInfo, prefix: Loc) -> FieldSpec:
    path = (*prefix, name)
    annotation = info.annotation
    default = _plain_default(info)
    help_text = info.description or ""
    suggestions = SUGGESTIONS.get(path, ())
    if prefix == ("schedule",) and name in SCHEDULED:
        return FieldSpec(path, "schedule", help_text, default)
    models = _models(annotation)
    if models:
        optional = _allows_none(annotation)
        return FieldSpec(
            path, "optional" if optional else "section", help_text, None, model=models[0]
        )
    if annotation is bool:
        return FieldSpec(path, "switch", help_text, default)
    literals = _literals(annotation)
    others = [a for a in _members(annotation) if typing.get_origin(a) is not Literal]
    if literals and all(a is bool for a in others):
        choices = tuple(literals) + ((True, False) if others else ())
        return FieldSpec(path, "select", help_text, default, choices=choices)
    if _is_text(annotation):
        return FieldSpec(path, "text", help_text, default, suggestions=suggestions)
    return FieldSpec(path, "yaml", help_text, default, suggestions=suggestions)


MISSING_DEFAULT = object()


def _plain_default(info: FieldInfo) -> Any:
    default = info.default
    if default is PydanticUndefined or isinstance(default, BaseModel):
        return MISSING_DEFAULT
    if isinstance(default, tuple):
        return list(default)
    if isinstance(default, Path):
        return str(default)
    return default


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> list[Any]:
    annotation = _unwrap(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        found: list[Any] = []
        for arg in typing.get_args(annotation):
            found.extend(_members(arg))
        return found
    return [annotation]


def _literals(annotation: Any) -> list[Any]:
    values: list[Any] = []
    for member in _members(annotation):
        if typing.get_origin(member) is Literal:
            values.extend(typing.get_args(member))
    return values


def _models(annotation: Any) -> list[type[BaseModel]]:
    return [m for m in _members(annotation) if isinstance(m, type) and issubclass(m, Section)]


def _allows_none(annotation: Any) -> bool:
    return any(m is type(None) for m in _members(annotation))


def _is_text(annotation: Any) -> bool:
    members = [m for m in _members(annotation) if m is not type(None)]
    return bool(members) and all(m in (str, Path) for m in members)


def _doc(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split())
