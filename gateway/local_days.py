"""Local calendar days as UTC ranges.

Times are stored in UTC; reports count days and hours in ``HAVEN_TIMEZONE``. A local
day runs from local midnight to the next, so across a change of clocks it keeps its
23 or 25 hours. Imports nothing from the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Period:
    """Local calendar days ``first``..``last`` (inclusive), as UTC ``[start, end)``."""

    first: date
    last: date
    start: datetime
    end: datetime

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def period_of(first: date, last: date, zone: ZoneInfo) -> Period:
    return Period(
        first, last, local_midnight(first, zone), local_midnight(last + timedelta(1), zone)
    )
