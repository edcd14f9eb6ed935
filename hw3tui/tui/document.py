"""The preset being edited: its text, what is on disk, and its problems.

The editor never re-dumps a model: every change goes through `set_value` on the TEXT, so comments,
key order and spacing survive, and save writes exactly that text. Validation is `check_text`, the
same check (and messages) as `hw3tui validate`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hw3tui.preset import Preset, PresetError, Problem, check_text, save_text, set_value
from hw3tui.preset.yamlio import Document, dump, parse, read_file, to_plain

Loc = tuple[str | int, ...]


class Missing:
    """The value of a key the file does not write (the preset's default applies)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()

_CHECKS_REMEMBERED = 32
"""Validations cached by text: a field's validator and its change handler check the same text."""


class PresetDocument:
    """One preset file open in the editor."""

    def __init__(
        self, text: str, *, path: Path | None, source: str, read_only: bool = False
    ) -> None:
        self.path = path
        self.source = source
        """The name problems are reported under (the path as the user sees it)."""
        self.read_only = read_only
        """Built-in presets and runs' frozen copies are saved elsewhere (save as)."""
        self.text = text
        self.saved_text = text
        self._checks: OrderedDict[str, tuple[Preset | None, list[Problem]]] = OrderedDict()
        self._edits: OrderedDict[tuple[str, Loc, str], str] = OrderedDict()
        self._data: tuple[str, Any] | None = None

    @classmethod
    def open(
        cls, path: Path, *, source: str | None = None, read_only: bool = False
    ) -> PresetDocument:
        """Read a preset file (which may be invalid: the editor is where it gets fixed)."""
        shown = source or str(path)
        return cls(read_file(path, shown), path=path, source=shown, read_only=read_only)

    # ---- state -----------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        """Edits not yet saved."""
        return self.text != self.saved_text

    def check(self, text: str | None = None) -> tuple[Preset | None, list[Problem]]:
        """The preset or its problems, exactly as `hw3tui validate` reports them."""
        text = self.text if text is None else text
        cached = self._checks.get(text)
        if cached is None:
            cached = check_text(text, self.source)
            self._checks[text] = cached
            while len(self._checks) > _CHECKS_REMEMBERED:
                self._checks.popitem(last=False)
        else:
            self._checks.move_to_end(text)
        return cached

    @property
    def preset(self) -> Preset | None:
        return self.check()[0]

    @property
    def problems(self) -> list[Problem]:
        return self.check()[1]

    def data(self) -> Any:
        """The document as plain data (None when the text is not YAML)."""
        if self._data is None or self._data[0] != self.text:
            try:
                data = to_plain(parse(self.text, self.source).data)
            except PresetError:
                data = None
            self._data = (self.text, data)
        return self._data[1]

    def value(self, path: Loc) -> Any:
        """The value the file writes at `path`, or MISSING."""
        node = self.data()
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return MISSING
            node = node[part]
        return node

    # ---- edits -----------------------------------------------------------------------------

    def edited(self, path: Loc, value: Any) -> str:
        """The text with `value` at `path` (MISSING removes the key), the document unchanged.

        Remembered for a few edits: a field's validator and its change handler ask for the same.
        """
        key = (self.text, path, f"{type(value).__name__}:{value!r}")
        text = self._edits.get(key)
        if text is None:
            if value is MISSING:
                text = remove_value(self.text, path, self.source)
            else:
                text = set_value(self.text, path, value)
            self._edits[key] = text
            while len(self._edits) > _CHECKS_REMEMBERED:
                self._edits.popitem(last=False)
        return text

    def set(self, path: Loc, value: Any) -> bool:
        """Write `value` at `path` (MISSING: remove the key); whether the text changed."""
        if self.value(path) == value:
            return False
        try:
            text = self.edited(path, value)
        except PresetError:
            return False  # e.g. the text is not YAML right now: the raw view is where to fix it
        changed = text != self.text
        self.text = text
        return changed

    def replace_text(self, text: str) -> bool:
        changed = text != self.text
        self.text = text
        return changed

    # ---- disk ------------------------------------------------------------------------------

    def disk_text(self) -> str | None:
        """What the file holds now (None when it is gone or unreadable)."""
        if self.path is None:
            return None
        try:
            return read_file(self.path, self.source)
        except PresetError:
            return None

    def changed_on_disk(self) -> bool:
        """Someone else wrote the file since it was opened or saved here."""
        return self.path is not None and self.disk_text() != self.saved_text

    def save(self, path: Path | None = None) -> Path:
        """Write the text as it is (atomically); `path` saves as a new file and switches to it."""
        target = path or self.path
        if target is None:
            raise ValueError("no file to save to")
        save_text(target, self.text)
        self.path, self.saved_text = target, self.text
        if path is not None:
            self.source, self.read_only = str(path), False
        return target


def remove_value(text: str, path: Sequence[str | int], source: str = "<edit>") -> str:
    """The text without the key at `path` (its default applies again); comments are kept."""
    document: Document = parse(text, source)
    node = document.data
    for part in path[:-1]:
        if not isinstance(node, dict) or part not in node:
            return text
        node = node[part]
    if not isinstance(node, dict) or path[-1] not in node:
        return text
    del node[path[-1]]
    return dump(document)


def problems_at(problems: Sequence[Problem], path: Loc) -> list[Problem]:
    """The problems about the field at `path` or anything inside it."""
    dotted = ".".join(str(p) for p in path)
    return [p for p in problems if p.field == dotted or p.field.startswith(dotted + ".")]
