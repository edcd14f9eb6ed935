"""Durations, times and numbers as people read them in a table or a panel (stdlib only)."""

from __future__ import annotations

from datetime import datetime


def format_duration(seconds: float | None, *, spaced: bool = False) -> str:
    """`42s`, `3m05s`, `1h02m`: short enough for a table cell (`–` when unknown). `spaced` for a
    line of text (the headless printer's elapsed time and ETA): `42 s`, `3 min 05 s`, `1 h 02 min`.
    """
    if seconds is None:
        return "–"
    whole = max(0, round(seconds))
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    gap, hour, minute = (" ", "h", "min") if spaced else ("", "h", "m")
    if whole < 60:
        return f"{secs}{gap}s"
    if hours == 0:
        return f"{minutes}{gap}{minute}{gap}{secs:02d}{gap}s"
    return f"{hours}{gap}{hour}{gap}{minutes:02d}{gap}{minute}"


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
