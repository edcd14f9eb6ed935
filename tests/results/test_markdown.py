"""The one Markdown escaper of the write-up: someone else's text stays one piece of text."""

from __future__ import annotations

import re

from hw3tui.results.markdown import code, target, text


def rendered(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


def test_text_escapes_every_markup_character_and_reads_as_itself() -> None:
    name = "a|b [x](y) <b>`c`*d*_e_ ~f~ &amp; $x$ \\ok"
    escaped = text(name)
    assert rendered(escaped) == name
    assert not re.search(r"(?<!\\)[|\[\]<>`*_~&$]", escaped)


def test_control_characters_and_newlines_become_escapes() -> None:
    assert text("a\nb\x1b]0;T\x07") == r"a\\nb\\x1b\]0;T\\x07"
    assert rendered(text("a\nb\x1b]0;T\x07")) == r"a\nb\x1b]0;T\x07"


def test_a_code_span_outlasts_the_backticks_inside() -> None:
    assert code("m.st") == "`m.st`"
    assert code("a`b") == "``a`b``"
    assert code("`x`") == "`` `x` ``"
    assert code("a|b", in_table=True) == r"`a\|b`"


def test_link_targets_are_percent_encoded_relative_paths() -> None:
    assert target("run 1/curves.png") == "<run%201/curves.png>"
    assert target("a|b\n<c>[d]`e`\x1b/x.png") == "<a%7Cb%0A%3Cc%3E%5Bd%5D%60e%60%1B/x.png>"
