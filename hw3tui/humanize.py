"""Durations, times and numbers as people read them in a table or a panel (stdlib only)."""

from __future__ import annotations

from datetime import datetime


def format_duration(seconds: float | None) -> str:
    """`42s`, `3m05s`, `1h02m`: short enough for a table cell (`–` when unknown)."""
    if seconds is None:
        return "–"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_started(timestamp: float | None, *, year: bool = False) -> str:
    """`Jan 01 14:05` in local time (`2026-01-01 14:05` with the year; `–` when unknown)."""
    if timestamp is None:
        return "–"
    pattern = "%Y-%m-%d %H:%M" if year else "%b %d %H:%M"
    return datetime.fromtimestamp(timestamp).strftime(pattern)


def format_number(value: float, digits: int = 3) -> str:
    """`0.00126`, `16`, `1e-05`: `digits` significant digits (a cosine's lr has a dozen), whole
    numbers written out whole (`1024`, never `1.02e+03`)."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.{digits}g}"
