"""The README's preset reference, generated from the models so it never drifts from the code.

`python -m hw3tui.preset.reference` prints it; tests/test_readme.py checks the README holds it.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from hw3tui.preset.models import Preset, Section
from hw3tui.preset.yamlio import flow

SCHEDULE_FORMS = """\
`schedule.lr`, `schedule.batch_size` and `schedule.weight_decay` each take any of these forms
(values per epoch; epochs count from 0; batch sizes are rounded to whole images):

| form | example | value at epoch e |
|---|---|---|
| constant | `lr: 0.01` | always the same |
| by epoch | `lr: {0: 0.01, 15: 0.001, 30: 0.0001}` | the entry of the last key ≤ e (must give 0) |
| list | `lr: [0.01, 0.01, 0.005]` | item e (one per epoch) |
| linear | `lr: {linear: {start: 0.01, end: 0.0001}}` | straight line from first to last epoch |
| cosine | `lr: {cosine: {start: 0.01, end: 0.0001}}` | half cosine from first to last epoch |
| plateau | `lr: {plateau: {start: 0.01, factor: 0.1, patience: 3}}` | × factor after `patience` epochs without a better val accuracy (optional `min`, `max`) |
"""


def reference() -> str:
    """Markdown: one table per section, with each key's type, default and description."""
    out = ["## Preset reference", ""]
    top = [(n, f) for n, f in Preset.model_fields.items() if not _section_of(f)]
    out += field_table(top, "")
    for name, info in Preset.model_fields.items():
        model = _section_of(info)
        if model is None:
            continue
        out += ["", f"### `{name}`", "", _doc(model), ""]
        out += field_table(list(model.model_fields.items()), f"{name}.")
        for sub_name, sub_info in model.model_fields.items():
            sub = _section_of(sub_info)
            if sub is not None:
                out += ["", f"`{name}.{sub_name}`: {_doc(sub)}", ""]
                out += field_table(list(sub.model_fields.items()), f"{name}.{sub_name}.")
        if name == "schedule":
            out += ["", SCHEDULE_FORMS.rstrip()]
    return "\n".join(out) + "\n"


def _section_of(info: FieldInfo) -> type[BaseModel] | None:
    if typing.get_origin(info.annotation) is list:
        return None  # a list of sections (a sweep's variants) is a key of its own
    for arg in (info.annotation, *typing.get_args(info.annotation)):
        if isinstance(arg, type) and issubclass(arg, Section):
            return arg
    return None


def _doc(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split())


def field_table(fields: list[tuple[str, FieldInfo]], prefix: str) -> list[str]:
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for name, info in fields:
        if _section_of(info) is not None and info.default is not None:
            continue  # a nested section gets its own table
        description = " ".join((info.description or "").split()).replace("|", "\\|")
        default = (
            "required"
            if info.is_required()
            else _default(info.get_default(call_default_factory=True))
        )
        rows.append(f"| `{prefix}{name}` | `{default}` | {description} |")
    return rows


def _default(value: Any) -> str:
    if isinstance(value, BaseModel):
        return flow(value.model_dump(mode="json"))
    if isinstance(value, tuple):
        value = list(value)
    return flow(value).replace("|", "\\|")


if __name__ == "__main__":
    print(reference(), end="")
