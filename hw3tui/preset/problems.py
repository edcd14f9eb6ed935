"""Problems with a preset, each located as `file:line:col: field.path: message`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hw3tui.errors import BadInput


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a preset, where it is, and what to do about it."""

    source: str
    """The file as the user named it, or `--set a.b=v` for an override."""
    message: str
    field: str = ""
    """Dotted path of the field (`schedule.lr`), empty for the file as a whole."""
    line: int | None = None
    """1-based line, when the problem has a place in the file."""
    column: int | None = None
    """1-based column."""

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        parts = [where, self.field, self.message] if self.field else [where, self.message]
        return ": ".join(parts)


class PresetError(BadInput):
    """A preset that cannot be used, with every problem found (not just the first). Kept beside
    `Problem` (its message is one located line per problem), in `hw3tui.errors`' family."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)

    @classmethod
    def single(cls, source: str, message: str, **where: int | str | None) -> PresetError:
        return cls([Problem(source, message, **where)])  # type: ignore[arg-type]


def dotted(path: Sequence[str | int]) -> str:
    """`("schedule", "lr", 15)` as `schedule.lr.15`."""
    return ".".join(str(p) for p in path)
