"""Local calendar days and hours in SQL, on PostgreSQL and on SQLite.

Times are stored in UTC; reports count days and hours in ``HAVEN_TIMEZONE``.
PostgreSQL converts with ``timezone()``. SQLite has no time zones, so each time is
shifted by the zone's UTC offset in force at that instant (``LocalTime`` finds the
changes of offset within the range), and a day across a change of clocks keeps its
23 or 25 hours. Imports nothing from the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Integer, String, case, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement


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


class LocalTime:
    """UTC offsets of a zone over a range, for SQLite, which has no time zones."""

    def __init__(self, zone: ZoneInfo, start: datetime, end: datetime) -> None:
        self.changes: list[tuple[datetime, int]] = []  # (from this instant, offset s)
        at = start
        offset = self._offset(zone, at)
        self.changes.append((at, offset))
        while at < end:
            step = min(at + timedelta(days=1), end)
            if self._offset(zone, step) != offset:
                low, high = at, step  # the change lies in (low, high]: bisect to the second
                while high - low > timedelta(seconds=1):
                    mid = low + (high - low) / 2
                    low, high = (mid, high) if self._offset(zone, mid) == offset else (low, mid)
                offset = self._offset(zone, high)
                self.changes.append((high.replace(microsecond=0), offset))
            at = step

    @staticmethod
    def _offset(zone: ZoneInfo, at: datetime) -> int:
        delta = at.astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    def sqlite(self, column: Any) -> ColumnElement[str]:
        """``column`` (a UTC time) as local 'YYYY-MM-DD HH:MM:SS' text on SQLite."""
        first = f"{self.changes[0][1]:+d} seconds"
        shift: Any = literal(first)
        if len(self.changes) > 1:
            # Each offset applies from its instant on: test the latest first.
            shift = case(
                *(
                    (
                        column >= literal(at.replace(tzinfo=None).isoformat(" "), String),
                        f"{off:+d} seconds",
                    )
                    for at, off in reversed(self.changes[1:])
                ),
                else_=first,
            )
        return func.datetime(column, shift)


def local_time_of(db: str, column: Any, zone: ZoneInfo, period: Period) -> Any:
    """The local time of a UTC column, for grouping by day, hour and weekday."""
    if db == "postgresql":
        return func.timezone(zone.key, column)
    return LocalTime(zone, period.start, period.end).sqlite(column)


def local_day(db: str, local: Any) -> Any:
    return func.to_char(local, "YYYY-MM-DD") if db == "postgresql" else func.date(local)


def hour_and_weekday(db: str, local: Any) -> tuple[Any, Any]:
    """Local hour 0..23 and weekday 0=Monday..6 (both databases count Sunday as 0)."""
    if db == "postgresql":
        hour = cast(func.extract("hour", local), Integer)
        dow = cast(func.extract("dow", local), Integer)
    else:
        hour = cast(func.strftime("%H", local), Integer)
        dow = cast(func.strftime("%w", local), Integer)
    return hour, (dow + 6) % 7


def seconds_between(db: str, later: Any, earlier: Any) -> Any:
    if db == "postgresql":
        return cast(func.extract("epoch", later - earlier), Float)
    # julianday() is a double of days: to the millisecond, as PostgreSQL would give it.
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3)
