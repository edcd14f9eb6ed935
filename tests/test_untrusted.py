"""`printable`: every control character escaped, every other character kept."""

from __future__ import annotations

import pytest

from hw3tui.untrusted import control_character, printable


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("\x1b]0;PWNED\x07", r"\x1b]0;PWNED\x07"),  # OSC: retitles the terminal
        ("\x1b]52;c;aGk=\x1b\\", r"\x1b]52;c;aGk=\x1b" "\\"),  # OSC 52: writes the clipboard
        ("a\x9b31mb", r"a\x9b31mb"),  # C1 CSI, one byte in 8-bit terminals
        ("del\x7f", r"del\x7f"),
        ("nul\x00", r"nul\x00"),
        ("two\nlines\r\tx", r"two\nlines\r\tx"),
        ("safe\u202egnp.exe", r"safe\u202egnp.exe"),  # right-to-left override
        ("a\u2028b", r"a\u2028b"),
    ],
)
def test_control_characters_are_escaped(raw: str, shown: str) -> None:
    assert printable(raw) == shown
    assert printable(shown) == shown  # idempotent
    assert control_character(raw) is not None
    assert control_character(shown) is None


@pytest.mark.parametrize("text", ["cat", "Épinards à la crème", "拉麵", "🐈 cat", "a\\x1b", ""])
def test_other_text_is_kept(text: str) -> None:
    assert printable(text) == text
    assert control_character(text) is None


def test_anything_is_shown_as_its_text() -> None:
    from pathlib import Path

    assert printable(Path("runs") / "a\x1bb") == r"runs/a\x1bb"
    assert control_character("ok\x1b[2J\x07") == r"\x1b"
