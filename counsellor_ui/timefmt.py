"""How times read in the workspace: "waiting 3 min" in lists, clock times in transcripts.

Clock times are the service's own: its time zone (``HAVEN_TIMEZONE``) and a 24-hour
clock, "14:05", as the UK writes them, whatever the zone of the reader's computer, so
that every member of staff and every report agree on when something happened. The
pages' scripts rewrite them the same way (``static/timefmt.js``), reading the zone and
the locale (``HAVEN_TIME_LOCALE``) from the page's ``<html>`` element.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import pass_context
from jinja2.runtime import Context

from gateway.settings import Settings

_DEFAULTS = Settings()


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


def service_settings(request: Any) -> Settings:
    """The running service's settings (the defaults for a request without an app)."""
    app = getattr(request, "app", None)
    settings = getattr(getattr(app, "state", None), "settings", None)
    return settings if isinstance(settings, Settings) else _DEFAULTS


def clock_in_zone(at: datetime | str, zone: str) -> str:
    """``at`` (aware, or ISO 8601 with an offset or ``Z``) as 24-hour HH:MM in ``zone``."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at.replace("Z", "+00:00"))
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(ZoneInfo(zone)).strftime("%H:%M")


@pass_context
def clock_time(context: Context, at_iso: str) -> str:
    """The time as HH:MM on the service's clock (the page's script writes it the same)."""
    if not at_iso:
        return ""
    return clock_in_zone(at_iso, service_settings(context.get("request")).timezone)


def local_time(at: datetime | None) -> str:
    """An ISO time for a ``<time datetime>`` attribute (the script shows it locally)."""
    if at is None:
        return ""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
