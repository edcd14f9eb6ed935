"""Durations and times as people read them in a table (no imports beyond the standard library)."""

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
