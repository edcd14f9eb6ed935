"""No text, however strange, makes the preset loader raise anything but a located PresetError."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hw3tui.preset import PresetError, validate_text
from hw3tui.preset.models import SECTIONS
from hw3tui.preset.yamlio import decode, flow

KEYS = [*SECTIONS, "epochs", "lr", "batch_size", "linear", "start", "end", "name", "source"]

yaml_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.integers(-3, 60), children, max_size=4)
    ),
    max_leaves=20,
)


def outcome(text: str) -> None:
    try:
        validate_text(text, "fuzz.yaml")
    except PresetError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert str(problem).startswith("fuzz.yaml")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    outcome(text)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), yaml_values, max_size=6))
def test_arbitrary_yaml_structures(data: dict[str, Any]) -> None:
    outcome("\n".join(f"{key}: {flow(value)}" for key, value in data.items()) + "\n")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes(raw: bytes) -> None:
    try:
        text = decode(raw, "fuzz.yaml")
    except PresetError:
        return
    outcome(text)
