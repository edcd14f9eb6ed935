"""ablation.png: each variant's difference from the full preset, with its 95 % interval,
coloured by its verdict (one horizontal bar per row of ablation.csv)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hw3tui.results.ablation import AblationRow
from hw3tui.results.figures import Size, new_figure, plain, save_figure

COLOURS = {
    "better": "#2e7d32",
    "worse": "#c62828",
    "within noise": "#757575",
    "one seed": "#1565c0",
}
"""Verdict -> colour (green better, red worse, grey within noise, blue: one seed, no interval)."""


def ablation_figure(rows: Sequence[AblationRow], path: Path, *, monitor: str) -> Path:
    """Draw the variants' differences from the full preset (rows without a difference left out)."""
    shown = [r for r in rows if r.delta is not None]
    size = Size(width=960, height=max(320, 120 + 44 * len(shown)))
    figure = new_figure(size)
    ax = figure.add_subplot()
    labels = [plain(r.variant, 44) for r in shown]
    ys = list(range(len(shown)))[::-1]  # the table's order, top to bottom
    for y, row in zip(ys, shown, strict=True):
        colour = COLOURS.get(row.verdict, "#757575")
        assert row.delta is not None
        ax.barh(y, row.delta, color=colour, alpha=0.35, height=0.6)
        ax.plot([row.delta], [y], "o", color=colour)
        if row.low is not None and row.high is not None:
            ax.plot([row.low, row.high], [y, y], color=colour, linewidth=2.5)
        ax.annotate(
            f"{row.verdict} (n={row.n})",
            (row.delta, y),
            xytext=(6, 8),
            textcoords="offset points",
            fontsize=8,
            color=colour,
        )
    ax.axvline(0.0, color="black", linewidth=1)
    ax.set_yticks(ys, labels)
    ax.set_xlabel(f"difference in best {plain(monitor)} from the full preset (95 % interval)")
    full = rows[0] if rows else None
    if full is not None and full.mean is not None:
        ax.set_title(f"ablation: full preset {plain(monitor)} {full.mean:.4f} (n={full.n})")
    if not shown:
        ax.text(0.5, 0.5, "no variant has finished yet", ha="center", transform=ax.transAxes)
    ends = [abs(v) for r in shown for v in (r.delta, r.low, r.high) if v is not None]
    span = max(ends, default=0.0) or 0.01
    ax.set_xlim(-1.35 * span, 1.35 * span)  # 0 in the middle: better and worse read alike
    figure.tight_layout()
    return save_figure(figure, path, size)
