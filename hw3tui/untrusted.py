r"""Text from other people stays text: class names, file and folder names, checkpoint metadata.

A class name such as `\x1b]0;title\x07`, printed as it is, retitles the terminal (and OSC 52
writes the user's clipboard). Every such string passes through `printable` before it reaches a
terminal, the TUI or a file a person reads (a CSV): each control character is written as the
escape a Python programmer would type, so the name stays recognisable and the terminal obeys
nothing.

    printable("cat\x1b[31m")        # the 12 characters  cat\x1b[31m
    control_character("a\tb")       # the 2 characters   \t

Escaped: C0 (tab and newline included: one name stays one line), DEL, C1, the Unicode line and
paragraph separators, and the bidirectional overrides and isolates (text displayed in another
order than it reads). Letters of every script, accents and emoji stay as they are. A backslash is
kept, so a name holding a typed `\x1b` and one holding ESC look alike: a readable name is worth
more here than a reversible encoding.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\t": r"\t", "\n": r"\n", "\r": r"\r"}


def _escape(character: str) -> str:
    code = ord(character)
    return _NAMED.get(character) or (f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")


def printable(text: object) -> str:
    r"""`str(text)` with every control character written as an escape (`\x1b`, `\n`, `\u202e`).

    Idempotent: what it returns holds no control character, so escaping twice changes nothing.
    """
    return _UNSAFE.sub(lambda match: _escape(match.group()), str(text))


def control_character(text: str) -> str | None:
    r"""The first control character in `text`, escaped (`\x1b`), or None when there is none."""
    match = _UNSAFE.search(text)
    return None if match is None else _escape(match.group())


_FORMULA_STARTS = ("=", "+", "-", "@")


def spreadsheet_cell(text: object) -> str:
    """`printable(text)`, and a leading `'` when it starts with `=`, `+`, `-` or `@`: a
    spreadsheet opening the CSV would otherwise run it as a formula (`=HYPERLINK(...)`,
    `=cmd|...`). OWASP's advice for CSV injection; the `'` shows in a text editor, and a
    spreadsheet takes it as "this cell is text"."""
    shown = printable(text)
    return "'" + shown if shown.startswith(_FORMULA_STARTS) else shown
