"""The README's sweep file reference, generated from the model so it never drifts from the code.

`python -m hw3tui.sweeps.reference` prints it; tests/sweeps/test_sweep_file.py checks the README
holds it.
"""

from __future__ import annotations

from hw3tui.preset.reference import field_table
from hw3tui.sweeps.model import Halving, Median, Sweep, Variant


def reference() -> str:
    """Markdown: the sweep file's keys, then the keys of each pruner."""
    out = ["### Sweep file reference", ""]
    out += field_table(list(Sweep.model_fields.items()), "")
    for key, model in (
        ("variants[]", Variant),
        ("prune.median", Median),
        ("prune.halving", Halving),
    ):
        doc = " ".join((model.__doc__ or "").split())
        out += ["", f"`{key}`: {doc}", ""]
        out += field_table(list(model.model_fields.items()), f"{key}.")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(reference(), end="")
