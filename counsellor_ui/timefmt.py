"""How times read in the workspace: "waiting 3 min" in lists, clock times in transcripts."""

from __future__ import annotations

from datetime import UTC, datetime


def _span(seconds: int) -> str:
    if seconds < 60:
        return "under 1 min"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def waiting_for(since: datetime, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return "waiting " + _span(max(0, int((now - since).total_seconds())))


def duration(seconds: float | None) -> str:
    """A length of time in words; a dash when there is nothing to measure."""
    if seconds is None:
        return "\u2013"
    return _span(max(0, int(seconds)))


def clock_time(at_iso: str) -> str:
    """The UTC time as HH:MM; the page's script rewrites it in the reader's local time."""
    return at_iso[11:16]


def local_time(at: datetime | None) -> str:
    """An ISO time for a ``<time datetime>`` attribute (the script shows it locally)."""
    if at is None:
        return ""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
