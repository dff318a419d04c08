"""How times read on the dashboard: "waiting 3 min" in lists, clock times in transcripts."""

from __future__ import annotations

from datetime import UTC, datetime


def waiting_for(since: datetime, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return "waiting under 1 min"
    minutes = seconds // 60
    if minutes < 60:
        return f"waiting {minutes} min"
    return f"waiting {minutes // 60} h {minutes % 60} min"


def clock_time(at_iso: str) -> str:
    """The UTC time as HH:MM; the page's script rewrites it in the reader's local time."""
    return at_iso[11:16]
