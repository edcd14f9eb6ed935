"""An ablation's table: each variant of a preset against the preset as is.

`ablation_rows` takes each variant's best monitored value per seed (the preset as is first) and
the preset's own last-epoch values, and gives one row per variant: n, mean, std of its values,
and its difference from the preset as is with the 95 % interval and the word of
`hw3tui.results.verdicts.verdict` (paired by seed). The last row, "keep the best epoch", needs
no run: it compares the preset's last epoch with the best epoch it kept, seed by seed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hw3tui.atomic import write_text_atomic
from hw3tui.results.verdicts import spread, verdict
from hw3tui.untrusted import printable

COLUMNS = ("choice", "variant", "n", "mean", "std", "delta", "low", "high", "verdict")
"""ablation.csv's columns (public: students' scripts read them)."""

AS_IS = "as is"
BEST_EPOCH = "checkpoint: best epoch"
LAST_EPOCH = "last epoch, not the best"


@dataclass(frozen=True)
class AblationRow:
    """One row of ablation.csv."""

    choice: str
    """What the preset does (`augment.horizontal_flip`), or `full preset` for the first row."""
    variant: str
    """What this row's runs did instead (the variant's name), or `as is`."""
    n: int
    mean: float | None
    std: float | None
    delta: float | None
    """mean(variant) - mean(full preset); None for the full preset itself."""
    low: float | None
    high: float | None
    verdict: str
    """better, worse, within noise, one seed; `reference` for the full preset; `no runs yet`."""

    def cells(self) -> list[str]:
        def number(value: float | None) -> str:
            return "" if value is None else f"{value:.6g}"

        return [
            printable(self.choice),  # a --variant's text is the user's: escaped like all data
            printable(self.variant),
            str(self.n),
            *map(number, (self.mean, self.std, self.delta, self.low, self.high)),
            self.verdict,
        ]


def ablation_rows(
    variants: Sequence[tuple[str, Mapping[int, float | None]]],
    *,
    last_epoch: Mapping[int, float | None],
    higher_is_better: bool,
    choices: Mapping[str, str] | None = None,
) -> list[AblationRow]:
    """Rows for `variants` (name, seed -> best value; the full preset first) and the full preset's
    own last-epoch values. `choices` names what each variant turns off (default: its name up to
    the first space)."""
    (_, full), *others = variants
    rows = [_row("full preset", AS_IS, full, None, higher_is_better)]
    for name, values in others:
        choice = (choices or {}).get(name, name.split(" ", 1)[0].split("=", 1)[0])
        rows.append(_row(choice, name, values, full, higher_is_better))
    # what keeping the best epoch bought: the last epoch's value of the same runs, per seed
    rows.append(_row(BEST_EPOCH, LAST_EPOCH, last_epoch, full, higher_is_better))
    return rows


def _row(
    choice: str,
    name: str,
    values: Mapping[int, float | None],
    reference: Mapping[int, float | None] | None,
    higher: bool,
) -> AblationRow:
    s = spread(values.values())
    if reference is None:
        return AblationRow(choice, name, s.n, s.mean, s.std, None, None, None, "reference")
    if s.n == 0 or spread(reference.values()).n == 0:
        return AblationRow(choice, name, s.n, s.mean, s.std, None, None, None, "no runs yet")
    v = verdict(reference, values, higher_is_better=higher)
    return AblationRow(choice, name, s.n, s.mean, s.std, v.delta, v.low, v.high, v.word)


def ablation_text(rows: Sequence[AblationRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(row.cells())
    return out.getvalue()


def write_ablation_csv(path: Path, rows: Sequence[AblationRow]) -> None:
    """Replace ablation.csv whole (a reader never sees half a table)."""
    write_text_atomic(path, ablation_text(rows))


def ablation_table(cells: Sequence[Sequence[str]]) -> str:
    """ablation.csv's rows (`read_ablation`'s cells) as aligned plain text, for a terminal."""
    header = list(COLUMNS)
    widths = [max(len(r[c]) for r in [header, *cells]) for c in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *cells]
    )


ABLATION_MAX_BYTES = 1 << 20


def read_ablation(path: Path) -> list[list[str]]:
    """ablation.csv's rows as cells, header left out ([] when there is none or it is not one)."""
    from hw3tui.regular import read_text_regular

    try:
        text = read_text_regular(path, limit=ABLATION_MAX_BYTES)
    except (OSError, UnicodeDecodeError):
        return []
    lines = list(csv.reader(io.StringIO(text)))
    if not lines or tuple(lines[0]) != COLUMNS:
        return []
    # a hand-edited file is data: escaped, and cut or padded to the columns
    return [[printable(c) for c in (r + [""] * len(COLUMNS))[: len(COLUMNS)]] for r in lines[1:]]
