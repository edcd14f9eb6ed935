"""The language of what hw3tui writes for a reader: findings and report.md (`--lang`).

English is the source text; other languages are gettext catalogs shipped in
`hw3tui/locale/<ll_CC>/LC_MESSAGES/hw3tui.mo` (compiled from the `.po` beside it by
`tools/msgfmt.py`; a test checks the two agree). Only templates are translated: numbers, run
and class names, file names and preset fields are filled in after, so they never change.

The language in force is a context variable, not a parameter: the sentence functions sit a
dozen builders below the command that knows the language (`findings_of` -> `run_findings` ->
`_kept` -> `kept`), and threading a translations argument through every one of them would add
a parameter that each only hands on. The command sets it once around its work:

    with language("zh-TW"):
        found = findings_of(runs)          # sentences in Traditional Chinese

A new thread starts in English (contextvars are not inherited by threads): a face that builds
sentences in a worker sets the language there.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from hw3tui.errors import BadInput

DOMAIN = "hw3tui"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
LANGUAGES = {"en": None, "zh-TW": "zh_TW"}
"""`--lang` value -> its catalog's folder under `LOCALE_DIR` (None: the source text)."""

_ENGLISH = gettext.NullTranslations()
_current: ContextVar[gettext.NullTranslations | None] = ContextVar(
    "hw3tui_translations", default=None
)


class UnknownLanguage(BadInput):
    """A `--lang` that has no catalog."""


def translator(lang: str) -> gettext.NullTranslations:
    """The catalog of `lang` (`en`: none, the source text). Raises `UnknownLanguage`."""
    if lang not in LANGUAGES:
        known = ", ".join(LANGUAGES)
        raise UnknownLanguage(f"--lang {lang}: no such language (available: {known})")
    folder = LANGUAGES[lang]
    if folder is None:
        return _ENGLISH
    # fallback=False: a missing .mo is a broken install, not a reason to switch to English
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[folder])


@contextmanager
def language(lang: str) -> Iterator[None]:
    """Translate the sentences made inside the block into `lang`."""
    token = _current.set(translator(lang))
    try:
        yield
    finally:
        _current.reset(token)


def _(message: str) -> str:
    """`message` in the language in force (a literal: the catalog test extracts it)."""
    return (_current.get() or _ENGLISH).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of `singular`/`plural` for `n` in the language in force."""
    return (_current.get() or _ENGLISH).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a constant for the catalog without translating it now (it is translated where it
    is shown, with `_(constant)`)."""
    return message
