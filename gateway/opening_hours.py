"""Opening hours: when counsellors are on duty, read from one line of settings.

A leaf module (it imports nothing of the project), so settings can check the
line at start. The format is day ranges and times, separated by ``;``::

    mon-fri 09:00-22:00; sat,sun 10:00-16:00

Days are ``mon`` .. ``sun``; a range may wrap (``fri-mon``). A time range whose
end is not after its start runs past midnight (``fri 18:00-02:00`` is open
until 2 in the morning on Saturday). ``24:00`` means midnight at the end of the
day. An empty line means always open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MINUTES_PER_DAY = 24 * 60
_WEEK = 7 * _MINUTES_PER_DAY
_PART = re.compile(r"^(?P<days>[a-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$")


class OpeningHoursError(ValueError):
    """The opening hours line could not be read; the message says which part."""


def _minutes(text: str) -> int:
    hours, minutes = (int(x) for x in text.split(":"))
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or (hours == 24 and minutes):
        raise OpeningHoursError(f"{text!r} is not a time of day (00:00 to 24:00)")
    return hours * 60 + minutes


def _days(text: str) -> list[int]:
    days: list[int] = []
    for item in text.split(","):
        first, _, last = item.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise OpeningHoursError(f"{item!r} is not a day or range of days (mon .. sun)")
        start = DAYS.index(first)
        end = DAYS.index(last) if last else start
        days.extend((start + i) % 7 for i in range((end - start) % 7 + 1))
    return days


@dataclass(frozen=True)
class OpeningHours:
    """Open intervals as minutes from Monday 00:00, local time, within one week."""

    intervals: tuple[tuple[int, int], ...]
    zone: ZoneInfo
    text: str

    @property
    def always_open(self) -> bool:
        return not self.intervals

    def is_open(self, now: datetime) -> bool:
        if self.always_open:
            return True
        local = now.astimezone(self.zone)
        minute = local.weekday() * _MINUTES_PER_DAY + local.hour * 60 + local.minute
        return any(
            start <= minute < end or start <= minute + _WEEK < end for start, end in self.intervals
        )

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)

    def start_of_day(self, now: datetime) -> datetime:
        """Midnight today in the service's time zone (for "today" in reports)."""
        local = now.astimezone(self.zone)
        return datetime.combine(local.date(), time(0), tzinfo=self.zone)


@lru_cache(maxsize=16)
def parse_opening_hours(text: str, zone_name: str) -> OpeningHours:
    """Read the settings line; raises ``OpeningHoursError`` naming the bad part."""
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise OpeningHoursError(f"{zone_name!r} is not a known time zone") from exc
    intervals: list[tuple[int, int]] = []
    for raw in text.lower().split(";"):
        part = " ".join(raw.split())
        if not part:
            continue
        match = _PART.match(part)
        if match is None:
            raise OpeningHoursError(f"{part!r} should look like 'mon-fri 09:00-17:00'")
        start, end = _minutes(match["start"]), _minutes(match["end"])
        length = end - start if end > start else end + _MINUTES_PER_DAY - start
        for day in _days(match["days"]):
            begin = day * _MINUTES_PER_DAY + start
            intervals.append((begin, begin + length))
    return OpeningHours(tuple(sorted(intervals)), zone, text.strip())


def next_change_text(hours: OpeningHours, now: datetime) -> str:
    """A short phrase for the dashboard: "open until 22:00" or "closed until Mon 09:00"."""
    if hours.always_open:
        return "open at all hours"
    local = now.astimezone(hours.zone).replace(second=0, microsecond=0)
    state = hours.is_open(local)
    probe = local
    for _ in range(_WEEK):
        probe += timedelta(minutes=1)
        if hours.is_open(probe) != state:
            when = (
                probe.strftime("%H:%M")
                if probe.date() == local.date()
                else probe.strftime("%a %H:%M")
            )
            return f"{'open' if state else 'closed'} until {when}"
    return "open" if state else "closed"
