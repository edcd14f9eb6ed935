r"""Someone else's text in Markdown a git host renders: it stays one piece of text.

A run's folder name can hold `|` (ends a table cell), `[`, `]`, `<`, `>` and backticks (start
links, HTML and code), a newline (ends a table row or a heading) and control characters (a
terminal obeys them when someone `cat`s report.md). Every such string passes through one of
these before it goes into the write-up:

    text("a|b [x]")            # a\|b \[x\]      (inline text, a table cell, a heading)
    code("model.st")           # `model.st`      (a code span, however many backticks it holds)
    target("a b/curves.png")   # <a%20b/curves.png>   (a relative link target)

Control characters are written as escapes first (`hw3tui.untrusted.printable`), so a newline is
the two characters `\n` and the text stays on its line.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from hw3tui.untrusted import printable

_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&$!#])")
"""ASCII punctuation that can start markup inline (GFM lets a backslash escape any of it)."""


def text(value: object) -> str:
    """`value` as literal inline Markdown: one line, every markup character escaped."""
    return _SPECIAL.sub(r"\\\1", printable(value))


def code(value: object, *, in_table: bool = False) -> str:
    """`value` as one code span: the fence is longer than any run of backticks inside it.

    `in_table`: GFM splits a table row at every unescaped `|`, even inside a code span."""
    shown = printable(value)
    longest = max((len(run) for run in re.findall("`+", shown)), default=0)
    fence = "`" * (longest + 1)
    if shown.startswith("`") or shown.endswith("`"):
        shown = f" {shown} "
    if in_table:
        shown = shown.replace("|", r"\|")
    return f"{fence}{shown}{fence}"


def target(path: str) -> str:
    """A relative link target: percent-encoded (UTF-8), so no character of a file name can end
    the link or point it elsewhere; `/` separates folders. Git hosts decode it to the file."""
    return f"<{quote(path, safe='/')}>"
