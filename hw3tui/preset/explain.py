"""Turn pydantic's validation errors into located, human problems with "did you mean" hints."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from difflib import get_close_matches
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from hw3tui.preset.models import LOCATED, Preset
from hw3tui.preset.problems import Problem, dotted
from hw3tui.preset.schedule import FORMS, SCHEDULE_FORM_ERROR

_TAGS = {"constant", "by_epoch", "per_epoch", *FORMS}
"""Names pydantic puts into an error's location for the schedule union's members."""

Loc = tuple[str | int, ...]


def explain(
    error: ValidationError,
    document: Any,
    source: str,
    overrides: Mapping[Loc, str] | None = None,
    *,
    root: type[BaseModel] = Preset,
) -> list[Problem]:
    """One located `Problem` per pydantic error, in file order (`root`: the model validated,
    whose fields give the "did you mean" hints)."""
    problems = [_problem(e, document, source, overrides or {}, root) for e in error.errors()]
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.source != source, p.line or 0, p.column or 0))


def _problem(
    error: ErrorDetails,
    document: Any,
    source: str,
    overrides: Mapping[Loc, str],
    root: type[BaseModel],
) -> Problem:
    loc: Loc = tuple(error["loc"])
    ctx = error.get("ctx") or {}
    at = tuple(ctx.get("at", ())) if error["type"] == LOCATED else ()
    # an unknown key, or a key named by a cross-field rule, is pointed at itself, not its value
    on_key = error["type"] == "extra_forbidden" or bool(at)
    path, line, column = _locate(document, (*loc, *at), key_position=on_key)
    field = dotted(path)
    message = _message(error, path, root)
    for prefix, text in overrides.items():
        shared = min(len(prefix), len(path))
        if path[:shared] == prefix[:shared]:
            return Problem(f"--set {text}", message, field)
    return Problem(source, message, field, line, column)


def locate(document: Any, loc: Loc, *, key_position: bool = False) -> tuple[int | None, int | None]:
    """The 1-based line and column of the value (or the key) at `loc` in a parsed document."""
    return _locate(document, loc, key_position=key_position)[1:]


def _locate(document: Any, loc: Loc, *, key_position: bool) -> tuple[Loc, int | None, int | None]:
    """The user-facing path of `loc` and the 1-based line and column it points at."""
    node = document
    path: list[str | int] = []
    position: tuple[int, int] | None = (0, 0) if isinstance(document, Mapping) else None
    parts = list(loc)
    for i, part in enumerate(parts):
        following = parts[i + 1] if i + 1 < len(parts) else None
        if (part in _TAGS and not _has(node, part)) or following == part:
            continue  # a union member's name (`median` of {median: {...}}), not a key written
        if part == "[key]":
            continue
        last = i == len(parts) - 1 or parts[i + 1 :] == ["[key]"]
        if isinstance(node, Mapping) and _has(node, part):
            key = _key(node, part)
            # an empty value (`data:`) has no place of its own: point at its key
            on_key = (key_position and last) or parts[-1] == "[key]" or node[key] is None
            position = _position(node, key, at_key=on_key)
            node = node[key]
            path.append(part)
        elif isinstance(node, Sequence) and not isinstance(node, str) and isinstance(part, int):
            if 0 <= part < len(node):
                position = _item_position(node, part, position)
                node = node[part]
            path.append(part)
        else:
            path.append(part)
            node = None
    line, column = (position[0] + 1, position[1] + 1) if position is not None else (None, None)
    return tuple(path), line, column


def _has(node: Any, part: Any) -> bool:
    return isinstance(node, Mapping) and _key(node, part) is not None


def _key(node: Mapping[Any, Any], part: Any) -> Any:
    if part in node:
        return part
    for key in node:  # a key pydantic reports as text, e.g. an epoch written as 5
        if str(key) == str(part):
            return key
    return None


def _position(node: Any, key: Any, *, at_key: bool) -> tuple[int, int] | None:
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    try:
        found = lc.key(key) if at_key else lc.value(key)
    except (KeyError, TypeError, AttributeError):
        return None
    return (int(found[0]), int(found[1])) if found else None


def _item_position(
    node: Any, index: int, default: tuple[int, int] | None
) -> tuple[int, int] | None:
    lc = getattr(node, "lc", None)
    try:
        found = lc.item(index) if lc is not None else None
    except (KeyError, TypeError, AttributeError, IndexError):
        found = None
    return (int(found[0]), int(found[1])) if found else default


def _message(error: ErrorDetails, path: Loc, root: type[BaseModel]) -> str:
    kind = error["type"]
    given = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return _unknown_key(path, root)
    if kind == "missing":
        return "missing: this field is required"
    if kind == "literal_error":
        choices = _literal_choices(path, root)
        hint = _suggest(str(given), choices) if isinstance(given, str) else None
        message = f"{_shown(given)} is not one of {', '.join(choices)}"
        return f"{message}; did you mean '{hint}'?" if hint else message
    if kind == SCHEDULE_FORM_ERROR:
        if isinstance(given, Mapping) and len(given) == 1:
            (form,) = given
            hint = _suggest(str(form), list(FORMS))
            if hint:
                return f"unknown schedule form '{form}'; did you mean '{hint}'?"
        return f"{error['msg']} (got {_shown(given)})"
    if kind in ("model_type", "dict_type", "model_attributes_type") and given is None:
        return "is empty: give its keys, or remove the line"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a mapping of keys, got {_shown(given)}"
    message = str(error["msg"])
    if kind in ("value_error", "assertion_error"):
        return message.split(", ", 1)[1] if ", " in message else message
    if kind == LOCATED or kind.startswith(("unknown_", "hw3tui")):
        return message
    bound = _BOUNDS.get(kind)
    if bound is not None:
        word, key = bound
        return f"must be {word} {ctx[key]} (got {_shown(given)})"
    if kind in ("float_type", "int_type", "bool_type", "string_type") or "parsing" in kind:
        return f"{_lower(message)}, got {_shown(given)}"
    if ctx or kind in ("finite_number", "string_pattern_mismatch", "too_long", "too_short"):
        return f"{_lower(message)} (got {_shown(given)})"
    return _lower(message)


_BOUNDS = {
    "greater_than_equal": ("at least", "ge"),
    "greater_than": ("above", "gt"),
    "less_than_equal": ("at most", "le"),
    "less_than": ("below", "lt"),
}


def _lower(message: str) -> str:
    return message[:1].lower() + message[1:]


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return str(value)


def _suggest(word: str, choices: Sequence[str]) -> str | None:
    hint = get_close_matches(word, choices, n=1, cutoff=0.6) or get_close_matches(
        word.lower(), choices, n=1, cutoff=0.6
    )
    return hint[0] if hint else None


def _unknown_key(path: Loc, root: type[BaseModel]) -> str:
    key = str(path[-1]) if path else ""
    model = model_at(path[:-1], root)
    if model is None:
        return f"unknown key '{key}'"
    fields = list(model.model_fields)
    hint = _suggest(key, fields)
    if hint:
        return f"unknown key '{key}'; did you mean '{hint}'?"
    return f"unknown key '{key}' (expected {', '.join(fields)})"


def _literal_choices(path: Loc, root: type[BaseModel]) -> list[str]:
    model = model_at(path[:-1], root)
    if model is None or not path or path[-1] not in model.model_fields:
        return []
    annotation = model.model_fields[str(path[-1])].annotation
    return [str(v) for v in _literal_values(annotation)]


def _literal_values(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    values: list[Any] = []
    for arg in typing.get_args(annotation):
        values.extend(_literal_values(arg))
    return values


def model_at(path: Loc, root: type[BaseModel] = Preset) -> type[BaseModel] | None:
    """The model under `root` that holds the fields at `path` (None below a plain value)."""
    model: type[BaseModel] = root
    for i, part in enumerate(path):
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        inner = _models_in(field.annotation)
        following = str(path[i + 1]) if i + 1 < len(path) else None
        # in a union (the schedule forms) pick the member that has the next key
        fitting = [m for m in inner if following is None or following in m.model_fields]
        if not fitting:
            return None
        model = fitting[0]
    return model


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        for arg in typing.get_args(annotation):
            found.extend(_models_in(arg))
    return found
