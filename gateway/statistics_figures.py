"""The figures of the statistics page, and how they are made from a period's cells.

A **cell** holds everything docs/statistics.md counts about one local day and one
wait class: the waits that entered the queue that day in that class (counts, how
each ended, the claimed waits' and the given-up waits' lengths, the histogram, the
hour and weekday), and the sessions that started that day in that class (counts,
reasons, handling times per counsellor, wrap-up outcomes and assessed risk).
Counts add up across cells; percentiles are computed once, from every value of the
period, so a year's median is the median of its waits and not of its days'.

Pure: no database, no clock. ``gateway/actions/daily_figures.py`` fills cells from
the database (and keeps those of settled days); ``combine`` makes the page.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from gateway.local_days import Period

# Upper edges of the wait histogram's bins, in seconds (the last bin has none).
BIN_EDGES_S = (30, 60, 120, 300, 600, 1200, 1800, 3600)
NO_COUNSELLOR = 0  # handling times of sessions whose counsellor's record is gone


def percentile(ordered: Sequence[float] | npt.NDArray[np.float64], q: float) -> float | None:
    """The ``q``-th percentile (0..100) of sorted values, linear between closest ranks
    (PostgreSQL's ``percentile_cont``; ``statistics.quantiles(method="inclusive")``)."""
    if not len(ordered):
        return None
    h = (len(ordered) - 1) * q / 100
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (h - low) * (ordered[high] - ordered[low]))


def bin_of(seconds: float) -> int:
    for i, high in enumerate(BIN_EDGES_S):
        if seconds < high:
            return i
    return len(BIN_EDGES_S)


HEAT_CELLS = 7 * 24  # weekday * 24 + hour


class Cell(msgspec.Struct, kw_only=True):
    """One local day and one wait class, stored as msgpack. Lists of seconds are
    packed, sorted float64 (``pack``): a year's cells decode without making a
    Python object per wait until the period's values are merged."""

    # Waits that entered the queue this day in this class.
    waits: int = 0
    claimed: int = 0
    gave_up: int = 0  # abandoned, left or erased before a claim
    waiting: int = 0  # not ended (yet)
    met: int = 0  # claimed within the class's target
    counted: int = 0  # claimed, or gave up after HAVEN_SHORT_ABANDON_S
    short: int = 0  # gave up sooner: not counted in the service level
    bins: list[int] = msgspec.field(default_factory=lambda: [0] * (len(BIN_EDGES_S) + 1))
    heat: list[int] = msgspec.field(default_factory=lambda: [0] * HEAT_CELLS)
    chats: dict[int, int] = msgspec.field(default_factory=dict)  # claimer's staff id -> n
    claimed_s: bytes = b""
    gave_up_s: bytes = b""
    # Sessions that started this day in this class.
    started: int = 0
    escalated: int = 0
    reasons: dict[str, int] = msgspec.field(default_factory=dict)
    handling_s: dict[int, bytes] = msgspec.field(default_factory=dict)  # by counsellor
    outcomes: dict[str, int] = msgspec.field(default_factory=dict)
    assessed: dict[str, int] = msgspec.field(default_factory=dict)


_FLOAT64 = np.dtype("<f8")


def pack(values: list[float]) -> bytes:
    """Seconds as little-endian float64, sorted."""
    return np.sort(np.asarray(values, dtype=_FLOAT64)).tobytes()


def merged(blobs: Iterable[bytes]) -> npt.NDArray[np.float64]:
    """Every value of several packed lists, in one array (unordered)."""
    parts = [np.frombuffer(blob, dtype=_FLOAT64) for blob in blobs if blob]
    return np.concatenate(parts) if parts else np.empty(0, dtype=_FLOAT64)


def percentiles(values: npt.NDArray[np.float64], qs: Sequence[float]) -> list[float | None]:
    """The ``qs``-th percentiles (0..100), linear between closest ranks: the same as
    ``percentile`` on the sorted values, found by partitioning instead of sorting."""
    if not values.size:
        return [None] * len(qs)
    return [float(v) for v in np.percentile(values, qs, method="linear")]


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Cell)


def encode_cell(cell: Cell) -> bytes:
    return _encoder.encode(cell)


def decode_cell(data: bytes) -> Cell:
    return _decoder.decode(data)


# --- the page's figures ---------------------------------------------------------------


@dataclass(frozen=True)
class WaitFigures:
    waits: int  # entered the queue in the period
    claimed: int
    gave_up: int  # abandoned, left or erased before a claim
    waiting: int  # not ended yet
    median_s: float | None
    p90_s: float | None
    p95_s: float | None
    max_s: float | None
    abandon_median_s: float | None  # time to abandon

    @property
    def abandonment_rate(self) -> float | None:
        ended = self.claimed + self.gave_up
        return self.gave_up / ended if ended else None


@dataclass(frozen=True)
class ClassLevel:
    """Service level of one wait class: ``met`` of ``counted`` waits within ``target_s``."""

    key: str
    target_s: float
    met: int
    counted: int  # claimed, plus gave up after HAVEN_SHORT_ABANDON_S
    short_abandoned: int  # gave up sooner: not counted

    @property
    def missed(self) -> int:
        return self.counted - self.met


@dataclass(frozen=True)
class Bin:
    low_s: float
    high_s: float | None
    count: int


@dataclass(frozen=True)
class Day:
    day: date
    waits: int
    median_s: float | None
    p90_s: float | None


@dataclass(frozen=True)
class SessionFigures:
    started: int
    escalated: int
    bot_only: int
    handling_median_s: float | None

    @property
    def escalation_rate(self) -> float | None:
        return self.escalated / self.started if self.started else None


@dataclass(frozen=True)
class CounsellorRow:
    name: str
    chats: int  # waits they claimed
    handling_median_s: float | None


@dataclass(frozen=True)
class RatingFigures:
    count: int
    mean: float | None
    by_score: list[tuple[int, int]]


@dataclass(frozen=True)
class Statistics:
    period: Period
    wait_class: str | None
    goal: float
    waits: WaitFigures
    levels: list[ClassLevel]
    bins: list[Bin]
    days: list[Day]
    by_hour: list[int]  # queue entries per local hour 0..23
    by_weekday: list[int]  # queue entries per weekday 0=Monday..6
    heat: dict[tuple[int, int], int]  # (weekday, hour) -> queue entries
    sessions: SessionFigures
    reasons: list[tuple[str, int]]  # escalation reason -> sessions
    counsellors: list[CounsellorRow]
    outcomes: list[tuple[str, int]]
    assessed: list[tuple[str, int]]
    ratings: RatingFigures

    @property
    def met(self) -> int:
        return sum(level.met for level in self.levels)

    @property
    def counted(self) -> int:
        return sum(level.counted for level in self.levels)


@dataclass(frozen=True)
class PageSettings:
    """What the page needs of the settings, besides the cells."""

    classes: Sequence[str]  # the wait classes shown (one, or all in order)
    targets: dict[str, float]
    goal: float
    outcome_order: Sequence[str]
    risk_order: Sequence[str]  # most serious first


def _ordered(counts: dict[str, int], order: Sequence[str]) -> list[tuple[str, int]]:
    rank = {key: i for i, key in enumerate(order)}
    return sorted(counts.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))


def _add(total: dict[Any, int], part: dict[Any, int]) -> None:
    for key, n in part.items():
        total[key] = total.get(key, 0) + n


def _columns(rows: list[list[int]], width: int) -> list[int]:
    return [sum(column) for column in zip(*rows, strict=True)] if rows else [0] * width


def combine(
    period: Period,
    wait_class: str | None,
    cells: dict[tuple[date, str], Cell],
    page: PageSettings,
    names: dict[int, str],
    ratings: RatingFigures,
) -> Statistics:
    """The page's figures from the cells of the period's days (of ``page.classes``)."""
    mine: list[Cell] = []
    by_day: dict[date, list[Cell]] = {}
    by_class: dict[str, list[Cell]] = {}
    for (day, key), cell in cells.items():
        if key in page.classes:
            mine.append(cell)
            by_day.setdefault(day, []).append(cell)
            by_class.setdefault(key, []).append(cell)
    median, p90, p95, top = percentiles(merged(c.claimed_s for c in mine), (50, 90, 95, 100))
    (abandon,) = percentiles(merged(c.gave_up_s for c in mine), (50,))
    waits = WaitFigures(
        waits=sum(c.waits for c in mine),
        claimed=sum(c.claimed for c in mine),
        gave_up=sum(c.gave_up for c in mine),
        waiting=sum(c.waiting for c in mine),
        median_s=median,
        p90_s=p90,
        p95_s=p95,
        max_s=top,
        abandon_median_s=abandon,
    )
    levels = [
        ClassLevel(
            key,
            page.targets[key],
            sum(c.met for c in by_class.get(key, [])),
            sum(c.counted for c in by_class.get(key, [])),
            sum(c.short for c in by_class.get(key, [])),
        )
        for key in page.classes
    ]
    edges: tuple[float, ...] = (0, *BIN_EDGES_S)
    highs: list[float | None] = [*BIN_EDGES_S, None]
    counts = _columns([c.bins for c in mine], len(edges))
    bins = [Bin(edges[i], highs[i], counts[i]) for i in range(len(edges))]
    days = []
    for day in period.days:
        # A few hundred values a day: sorted here, cheaper than np.percentile's setup.
        that = np.sort(merged(c.claimed_s for c in by_day.get(day, [])))
        days.append(Day(day, int(that.size), percentile(that, 50), percentile(that, 90)))
    heat_counts = _columns([c.heat for c in mine], HEAT_CELLS)
    heat = {(k // 24, k % 24): n for k, n in enumerate(heat_counts) if n}
    by_hour = [sum(heat_counts[d * 24 + hour] for d in range(7)) for hour in range(24)]
    by_weekday = [sum(heat_counts[d * 24 : d * 24 + 24]) for d in range(7)]
    chats: dict[int, int] = {}
    reasons: dict[str, int] = {}
    outcomes: dict[str, int] = {}
    assessed: dict[str, int] = {}
    handling: dict[int, list[bytes]] = {}
    for c in mine:
        _add(chats, c.chats)
        _add(reasons, c.reasons)
        _add(outcomes, c.outcomes)
        _add(assessed, c.assessed)
        for staff_id, blob in c.handling_s.items():
            handling.setdefault(staff_id, []).append(blob)
    medians = {
        staff_id: percentiles(merged(blobs), (50,))[0] for staff_id, blobs in handling.items()
    }
    (everyone,) = percentiles(merged(blob for blobs in handling.values() for blob in blobs), (50,))
    started, escalated = sum(c.started for c in mine), sum(c.escalated for c in mine)
    ids = (set(chats) | set(medians)) - {NO_COUNSELLOR}
    counsellors = sorted(
        (
            CounsellorRow(names.get(i, "Former colleague"), chats.get(i, 0), medians.get(i))
            for i in ids
        ),
        key=lambda r: (-r.chats, r.name),
    )
    return Statistics(
        period=period,
        wait_class=wait_class,
        goal=page.goal,
        waits=waits,
        levels=levels,
        bins=bins,
        days=days,
        by_hour=by_hour,
        by_weekday=by_weekday,
        heat=heat,
        sessions=SessionFigures(started, escalated, started - escalated, everyone),
        reasons=sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])),
        counsellors=counsellors,
        outcomes=_ordered(outcomes, page.outcome_order),
        assessed=_ordered(assessed, page.risk_order),
        ratings=ratings,
    )
