"""The statistics of a period, computed as docs/statistics.md defines them.

Reads only. Every figure is aggregated in the database over an indexed range of
``queue_waits.entered_at`` (waits) or ``chat_sessions.created_at`` (sessions,
wrap-ups) or ``ratings.created_at``. Percentiles are linear between closest ranks
(PostgreSQL's ``percentile_cont``; Python's ``statistics.quantiles(method=
"inclusive")``): PostgreSQL computes them itself, SQLite sends the one column sorted
and ``percentile`` below does the same arithmetic. Days and hours are local to
``HAVEN_TIMEZONE``: PostgreSQL converts with ``timezone()``, SQLite shifts each
time by the zone's offset in force then (gateway/local_days.py), so a day across a change
of clocks has 23 or 25 hours, as it had.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, and_, case, cast, func, literal, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from gateway.actions.audit import EXPORT, audit
from gateway.actions.waits import GAVE_UP, OUTCOME_CLAIMED, WAIT_CLASSES
from gateway.actions.wrapup import RISK_LEVELS
from gateway.local_days import (
    Period,
    hour_and_weekday,
    local_day,
    local_time_of,
    period_of,
    seconds_between,
)
from gateway.models import (
    ChatSession,
    QueueWait,
    Rating,
    Staff,
    WrapUp,
    WrapUpOutcome,
)
from gateway.services import Services
from gateway.settings import Settings

# Upper edges of the wait histogram's bins, in seconds (the last bin has none).
BIN_EDGES_S = (30, 60, 120, 300, 600, 1200, 1800, 3600)
_RISKS = ("imminent", "high", "concern")


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) of sorted values, linear between closest ranks."""
    if not ordered:
        return None
    h = (len(ordered) - 1) * q / 100
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


# --- wait classes -------------------------------------------------------------------


def class_of(priority: Any, risk: Any) -> Any:
    """SQL for gateway.actions.waits.wait_class."""
    return case(
        (risk.in_(_RISKS), risk),
        (priority >= 3, "high"),
        (priority == 2, "requested"),
        else_="other",
    )


def _in_class(priority: Any, risk: Any, key: str | None) -> ColumnElement[bool]:
    if key is None:
        return literal(True)
    if key in _RISKS:
        extra = [and_(risk.notin_(_RISKS), priority >= 3)] if key == "high" else []
        return or_(risk == key, *extra)
    return and_(risk.notin_(_RISKS), priority == (2 if key == "requested" else 1))


# --- the figures ----------------------------------------------------------------------


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


async def statistics_for(
    svc: Services, *, first: date, last: date, wait_class: str | None = None
) -> Statistics:
    """Every figure of the statistics page for local days ``first``..``last``."""
    settings = svc.settings
    zone = ZoneInfo(settings.timezone)
    period = period_of(first, last, zone)

    async def run(name: str) -> Any:
        async with svc.read() as session:
            db = session.get_bind().dialect.name
            if db == "postgresql":
                await session.execute(_PG_READ_SETTINGS)
            return await getattr(_Queries(session, db, zone, period, wait_class, settings), name)()

    if svc.db.is_postgres:
        # Independent reads, each on its own pooled connection: PostgreSQL runs them
        # side by side (a page holds at most len(_PG_PARTS) connections for a moment).
        # Each table's rows in the range are read as few times as possible: every
        # count of the waits in one pass, their percentiles in another.
        found = await asyncio.gather(*(run(name) for name in _PG_PARTS))
        part = _assemble(dict(zip(_PG_PARTS, found, strict=True)))
    else:
        found = [await run(name) for name in _PARTS]  # one file: one reader at a time
        part = dict(zip(_PARTS, found, strict=True))
    by_hour, by_weekday, heat = part["demand"]
    return Statistics(
        period=period,
        wait_class=wait_class,
        goal=settings.service_level_goal,
        waits=part["waits"],
        levels=part["levels"],
        bins=part["bins"],
        days=part["days"],
        by_hour=by_hour,
        by_weekday=by_weekday,
        heat=heat,
        sessions=part["sessions"],
        reasons=part["reasons"],
        counsellors=part["counsellors"],
        outcomes=part["outcomes"],
        assessed=part["assessed"],
        ratings=part["ratings"],
    )


# The queries of one page, each a method of _Queries.
_PARTS = (
    "waits",
    "days",
    "levels",
    "bins",
    "demand",
    "sessions",
    "reasons",
    "counsellors",
    "outcomes",
    "assessed",
    "ratings",
)


# The same figures on PostgreSQL, in fewer passes (_Queries' methods of these names);
# _assemble turns what they return into _PARTS.
_PG_PARTS = (
    "wait_counts",
    "wait_percentiles",
    "session_groups",
    "session_counts",
    "outcomes",
    "ratings",
)


# For each of the page's read transactions on PostgreSQL only: memory to sort a
# year's waits and hash their groups without spilling to disk (the planner cannot
# know how few groups there are); no JIT compilation, which costs more than it saves
# in queries of well under a second; no parallel workers, as the page's queries
# already run side by side (on two cores the workers only queue behind each other).
_PG_READ_SETTINGS = text(
    "SELECT set_config('work_mem', '64MB', true), set_config('jit', 'off', true),"
    " set_config('max_parallel_workers_per_gather', '0', true)"
)


def _assemble(pg: dict[str, Any]) -> dict[str, Any]:
    """The parts of the page from the PostgreSQL queries' answers."""
    counts, pct = pg["wait_counts"], pg["wait_percentiles"]
    medians, handling, names = pg["session_groups"]
    started, escalated, reasons, assessed = pg["session_counts"]
    staff = counts["staff"]
    ids = set(staff) | set(medians)
    counsellors = sorted(
        (
            CounsellorRow(names.get(i, "Former colleague"), staff.get(i, 0), medians.get(i))
            for i in ids
        ),
        key=lambda r: (-r.chats, r.name),
    )
    sessions = SessionFigures(started, escalated, started - escalated, handling)
    return {
        "waits": WaitFigures(**counts["waits"], **pct["waits"]),
        "days": pct["days"],
        "levels": counts["levels"],
        "bins": counts["bins"],
        "demand": counts["demand"],
        "sessions": sessions,
        "reasons": reasons,
        "counsellors": counsellors,
        "outcomes": pg["outcomes"],
        "assessed": assessed,
        "ratings": pg["ratings"],
    }


class _Queries:
    """One period's queries on one read session."""

    def __init__(
        self,
        session: AsyncSession,
        db: str,
        zone: ZoneInfo,
        period: Period,
        key: str | None,
        settings: Settings,
    ) -> None:
        self.s, self.db, self.zone, self.period, self.key = session, db, zone, period, key
        self.settings = settings
        w, c = QueueWait, ChatSession
        self.in_waits = and_(
            w.entered_at >= period.start,
            w.entered_at < period.end,
            _in_class(w.priority, w.risk_level, key),
        )
        self.in_sessions = and_(
            c.created_at >= period.start,
            c.created_at < period.end,
            _in_class(c.priority, c.risk_level, key),
        )
        self.wait_s = seconds_between(db, w.ended_at, w.entered_at)
        self.handling_s = seconds_between(db, c.closed_at, c.claimed_at)
        self.pg = db == "postgresql"

    async def _quantiles(
        self, value: Any, where: Any, group: Any = None, qs: Sequence[float] = (50, 90, 95)
    ) -> dict[Any, tuple[int, list[float | None], float | None]]:
        """Per group (or None): count, the percentiles ``qs`` and the maximum."""
        if self.pg:
            cols = [
                func.count(),
                *(func.percentile_cont(q / 100).within_group(value) for q in qs),
                func.max(value),
            ]
            stmt = select(group if group is not None else literal(None), *cols).where(where)
            if group is not None:
                stmt = stmt.group_by(group)
            out = {}
            for row in await self.s.execute(stmt):
                values = [float(v) if v is not None else None for v in row[2 : 2 + len(qs)]]
                out[row[0]] = (int(row[1]), values, float(row[-1]) if row[-1] is not None else None)
            return out
        key = group if group is not None else literal(None)
        rows = await self.s.execute(select(key, value).where(where).order_by(key, value))
        grouped: dict[Any, list[float]] = defaultdict(list)
        for g, v in rows:
            grouped[g].append(max(0.0, round(float(v), 3)))
        return {g: (len(vs), [percentile(vs, q) for q in qs], vs[-1]) for g, vs in grouped.items()}

    async def waits(self) -> WaitFigures:
        w = QueueWait
        claimed, gave_up = w.outcome == OUTCOME_CLAIMED, w.outcome.in_(GAVE_UP)
        counts = [
            func.count(),
            func.count().filter(claimed),
            func.count().filter(gave_up),
            func.count().filter(w.ended_at.is_(None)),
        ]
        if self.pg:  # one pass: the counts and every percentile
            cont = func.percentile_cont
            row = (
                await self.s.execute(
                    select(
                        *counts,
                        *(
                            cont(q).within_group(self.wait_s).filter(claimed)
                            for q in (0.5, 0.9, 0.95)
                        ),
                        func.max(self.wait_s).filter(claimed),
                        cont(0.5).within_group(self.wait_s).filter(gave_up),
                    ).where(self.in_waits)
                )
            ).one()
            median, p90, p95, top, abandon = (None if v is None else float(v) for v in row[4:])
        else:
            row = (await self.s.execute(select(*counts).where(self.in_waits))).one()
            found = (await self._quantiles(self.wait_s, and_(self.in_waits, claimed))).get(None)
            _, (median, p90, p95), top = found or (0, [None, None, None], None)
            quit_ = (
                await self._quantiles(self.wait_s, and_(self.in_waits, gave_up), qs=(50,))
            ).get(None)
            abandon = quit_[1][0] if quit_ else None
        return WaitFigures(
            waits=int(row[0]),
            claimed=int(row[1]),
            gave_up=int(row[2]),
            waiting=int(row[3]),
            median_s=median,
            p90_s=p90,
            p95_s=p95,
            max_s=top,
            abandon_median_s=abandon,
        )

    async def days(self) -> list[Day]:
        w = QueueWait
        claimed = and_(self.in_waits, w.outcome == OUTCOME_CLAIMED)
        local = local_time_of(self.db, w.entered_at, self.zone, self.period)
        per_day = await self._quantiles(self.wait_s, claimed, local_day(self.db, local), (50, 90))
        days = []
        for day in self.period.days:
            n, (median, p90), _ = per_day.get(day.isoformat(), (0, [None, None], None))
            days.append(Day(day, n, median, p90))
        return days

    async def levels(self) -> list[ClassLevel]:
        w = QueueWait
        targets = self.settings.wait_target_s
        klass = class_of(w.priority, w.risk_level)
        target = case(*((klass == k, literal(targets[k])) for k in WAIT_CLASSES), else_=0.0)
        claimed = w.outcome == OUTCOME_CLAIMED
        short = self.wait_s < self.settings.short_abandon_s
        gave_up = w.outcome.in_(GAVE_UP)
        rows = await self.s.execute(
            select(
                klass,
                func.count().filter(and_(claimed, self.wait_s <= target)),
                func.count().filter(or_(claimed, and_(gave_up, ~short))),
                func.count().filter(and_(gave_up, short)),
            )
            .where(self.in_waits, w.ended_at.is_not(None))
            .group_by(klass)
        )
        found = {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows}
        keys = [self.key] if self.key else list(WAIT_CLASSES)
        return [ClassLevel(k, targets[k], *found.get(k, (0, 0, 0))) for k in keys]

    async def bins(self) -> list[Bin]:
        w = QueueWait
        edges = (0, *BIN_EDGES_S)
        bucket = case(
            *((self.wait_s < high, i) for i, high in enumerate(BIN_EDGES_S)), else_=len(BIN_EDGES_S)
        )
        rows = await self.s.execute(
            select(bucket, func.count())
            .where(self.in_waits, w.outcome == OUTCOME_CLAIMED)
            .group_by(bucket)
        )
        found = {int(i): int(n) for i, n in rows}
        highs: list[float | None] = [*BIN_EDGES_S, None]
        return [Bin(edges[i], highs[i], found.get(i, 0)) for i in range(len(edges))]

    async def demand(self) -> tuple[list[int], list[int], dict[tuple[int, int], int]]:
        local = local_time_of(self.db, QueueWait.entered_at, self.zone, self.period)
        hour, weekday = hour_and_weekday(self.db, local)
        rows = await self.s.execute(
            select(weekday, hour, func.count()).where(self.in_waits).group_by(weekday, hour)
        )
        heat = {(int(d), int(h)): int(n) for d, h, n in rows}
        by_hour = [sum(n for (_, h), n in heat.items() if h == hour) for hour in range(24)]
        by_day = [sum(n for (d, _), n in heat.items() if d == day) for day in range(7)]
        return by_hour, by_day, heat

    async def sessions(self) -> SessionFigures:
        c = ChatSession
        ended = and_(c.claimed_at.is_not(None), c.closed_at.is_not(None))
        counts = [func.count(), func.count(c.queued_at)]
        median: float | None
        if self.pg:  # one pass
            handling = func.percentile_cont(0.5).within_group(self.handling_s).filter(ended)
            row = (await self.s.execute(select(*counts, handling).where(self.in_sessions))).one()
            median = None if row[2] is None else float(row[2])
        else:
            row = (await self.s.execute(select(*counts).where(self.in_sessions))).one()
            found = (
                await self._quantiles(self.handling_s, and_(self.in_sessions, ended), qs=(50,))
            ).get(None)
            median = found[1][0] if found else None
        return SessionFigures(
            started=int(row[0]),
            escalated=int(row[1]),
            bot_only=int(row[0]) - int(row[1]),
            handling_median_s=median,
        )

    async def reasons(self) -> list[tuple[str, int]]:
        c = ChatSession
        reason = func.coalesce(c.escalation_reason, "")
        rows = await self.s.execute(
            select(reason, func.count())
            .where(self.in_sessions, c.queued_at.is_not(None))
            .group_by(reason)
            .order_by(func.count().desc(), reason)
        )
        return [(str(r), int(n)) for r, n in rows]

    async def counsellors(self) -> list[CounsellorRow]:
        w, c = QueueWait, ChatSession
        chats = await self.s.execute(
            select(w.staff_id, func.count())
            .where(self.in_waits, w.outcome == OUTCOME_CLAIMED, w.staff_id.is_not(None))
            .group_by(w.staff_id)
        )
        counts = {int(s): int(n) for s, n in chats if s is not None}
        handled = and_(self.in_sessions, c.claimed_at.is_not(None), c.closed_at.is_not(None))
        medians = await self._quantiles(self.handling_s, handled, c.counsellor_id, (50,))
        ids = set(counts) | {k for k in medians if k is not None}
        if not ids:
            return []
        found = await self.s.execute(select(Staff.id, Staff.display_name).where(Staff.id.in_(ids)))
        names = {int(i): str(name) for i, name in found}
        rows = [
            CounsellorRow(
                names.get(i, "Former colleague"),
                counts.get(i, 0),
                medians[i][1][0] if i in medians else None,
            )
            for i in ids
        ]
        return sorted(rows, key=lambda r: (-r.chats, r.name))

    async def outcomes(self) -> list[tuple[str, int]]:
        # Every outcome's wrap-up exists (a foreign key): the outcomes join the sessions.
        c = ChatSession
        rows = await self.s.execute(
            select(WrapUpOutcome.outcome, func.count())
            .join(c, c.id == WrapUpOutcome.session_id)
            .where(self.in_sessions)
            .group_by(WrapUpOutcome.outcome)
        )
        order = {o: i for i, o in enumerate(self.settings.wrapup_outcomes)}
        found = [(str(o), int(n)) for o, n in rows]
        return sorted(found, key=lambda kv: (order.get(kv[0], len(order)), kv[0]))

    async def assessed(self) -> list[tuple[str, int]]:
        c = ChatSession
        rows = await self.s.execute(
            select(WrapUp.risk_level, func.count())
            .join(c, c.id == WrapUp.session_id)
            .where(self.in_sessions)
            .group_by(WrapUp.risk_level)
        )
        # Most serious first, as the wrap-up form lists them the other way round.
        order = {k: -i for i, (k, _) in enumerate(RISK_LEVELS)}
        found = [(str(level), int(n)) for level, n in rows]
        return sorted(found, key=lambda kv: (order.get(kv[0], len(order)), kv[0]))

    # --- PostgreSQL: the same figures in fewer passes (see _PG_PARTS) ---------------

    def _local_waits(self, *columns: Any, where: Any = True) -> Any:
        """The period's waits with their local time computed once per row (OFFSET 0
        keeps PostgreSQL from inlining the subquery and converting again per use)."""
        w = QueueWait
        local = func.timezone(self.zone.key, w.entered_at).label("local")
        return select(local, *columns).where(self.in_waits, where).offset(0).subquery()

    async def wait_counts(self) -> dict[str, Any]:
        """Every count of the period's waits in one pass: by wait class and how the
        wait ended (which gives the totals, the service levels and the histogram's
        bins), by local weekday and hour, and by who claimed them."""
        w = QueueWait
        x = self._local_waits(
            class_of(w.priority, w.risk_level).label("klass"),
            self.wait_s.label("wait_s"),
            w.outcome,
            w.ended_at,
            w.staff_id,
        )
        targets = self.settings.wait_target_s
        target = case(*((x.c.klass == k, literal(targets[k])) for k in WAIT_CLASSES), else_=0.0)
        claimed = x.c.outcome == OUTCOME_CLAIMED
        bucket = case(
            *((x.c.wait_s < high, i) for i, high in enumerate(BIN_EDGES_S)),
            else_=len(BIN_EDGES_S),
        )
        # How each wait ended, as one number (few groups: PostgreSQL hashes them):
        # 0 claimed, 1 gave up, 2 otherwise; +3 still waiting; +6 within its target;
        # +12 gave up too soon to count; + 24 x the histogram's bin if claimed.
        kind = (
            case((claimed, 0), (x.c.outcome.in_(GAVE_UP), 1), else_=2)
            + case((x.c.ended_at.is_(None), 3), else_=0)
            + case((x.c.wait_s <= target, 6), else_=0)
            + case((x.c.wait_s < self.settings.short_abandon_s, 12), else_=0)
            + case((claimed, 24 * bucket), else_=0)
        ).label("kind")
        claimer = case((claimed, x.c.staff_id)).label("claimer")
        hour = cast(func.date_part("hour", x.c.local), Integer).label("hour")
        dow = cast(func.date_part("dow", x.c.local), Integer).label("dow")
        sets = func.grouping_sets(tuple_(x.c.klass, kind), tuple_(dow, hour), tuple_(claimer))
        rows = await self.s.execute(
            select(
                func.grouping(dow, hour, claimer), dow, hour, claimer, x.c.klass, kind, func.count()
            ).group_by(sets)
        )
        totals = {"waits": 0, "claimed": 0, "gave_up": 0, "waiting": 0}
        by_bin = [0] * (len(BIN_EDGES_S) + 1)
        levels: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        heat: dict[tuple[int, int], int] = {}
        staff: dict[int, int] = {}
        for g, d, h, sid, k, code, n in rows:
            n = int(n)
            if g == 0b111:  # by wait class and ending
                end, waiting, met, short, i = (
                    code % 3,
                    code // 3 % 2,
                    code // 6 % 2,
                    code // 12 % 2,
                    code // 24,
                )
                totals["waits"] += n
                totals["claimed"] += n if end == 0 else 0
                totals["gave_up"] += n if end == 1 else 0
                totals["waiting"] += n if waiting else 0
                if end == 0:
                    by_bin[int(i)] += n
                if not waiting:  # service levels: of the waits that ended
                    level = levels[str(k)]
                    level[0] += n if end == 0 and met else 0
                    level[1] += n if end == 0 or (end == 1 and not short) else 0
                    level[2] += n if end == 1 and short else 0
            elif g == 0b001:  # by local weekday and hour
                heat[(int(d) + 6) % 7, int(h)] = n
            elif sid is not None:  # claimed, by whom
                staff[int(sid)] = n
        edges = (0, *BIN_EDGES_S)
        highs: list[float | None] = [*BIN_EDGES_S, None]
        keys = [self.key] if self.key else list(WAIT_CLASSES)
        by_hour = [sum(n for (_, h), n in heat.items() if h == hour) for hour in range(24)]
        by_day = [sum(n for (d, _), n in heat.items() if d == day) for day in range(7)]
        return {
            "waits": totals,
            "levels": [ClassLevel(k, targets[k], *levels.get(k, (0, 0, 0))) for k in keys],
            "bins": [Bin(edges[i], highs[i], by_bin[i]) for i in range(len(edges))],
            "demand": (by_hour, by_day, heat),
            "staff": staff,
        }

    async def wait_percentiles(self) -> dict[str, Any]:
        """The percentiles of the claimed waits per local day and overall, and the
        median time to abandon, in one pass over the waits that ended so."""
        w = QueueWait
        claimed, gave_up = w.outcome == OUTCOME_CLAIMED, w.outcome.in_(GAVE_UP)
        x = self._local_waits(
            w.outcome,
            case((claimed, self.wait_s)).label("wait_s"),
            case((gave_up, self.wait_s)).label("gave_up_s"),
            where=or_(claimed, gave_up),
        )
        day = cast(x.c.local, Date).label("day")
        cont = func.percentile_cont  # ignores NULLs: each over its own outcome
        rows = await self.s.execute(
            select(
                func.grouping(day),
                day,
                func.count().filter(x.c.outcome == OUTCOME_CLAIMED),
                *(cont(q).within_group(x.c.wait_s) for q in (0.5, 0.9, 0.95)),
                func.max(x.c.wait_s),
                cont(0.5).within_group(x.c.gave_up_s),
            ).group_by(func.grouping_sets(tuple_(day), tuple_()))
        )
        per_day: dict[date, Day] = {}
        overall: list[float | None] = [None] * 5
        for row in rows:
            values = [None if v is None else float(v) for v in row[3:]]
            if row[0] == 0:
                per_day[row[1]] = Day(row[1], int(row[2]), values[0], values[1])
            else:
                overall = [values[0], values[1], values[2], values[3], values[4]]
        median, p90, p95, top, abandon = overall
        return {
            "waits": {
                "median_s": median,
                "p90_s": p90,
                "p95_s": p95,
                "max_s": top,
                "abandon_median_s": abandon,
            },
            "days": [per_day.get(d) or Day(d, 0, None, None) for d in self.period.days],
        }

    async def session_groups(self) -> tuple[dict[int, float | None], float | None, dict[int, str]]:
        """The median handling time per counsellor (who held each last) and overall,
        over the sessions that were claimed and have ended only; the counsellors'
        names."""
        c = ChatSession
        ended = and_(c.claimed_at.is_not(None), c.closed_at.is_not(None))
        rows = await self.s.execute(
            select(
                func.grouping(c.counsellor_id),
                c.counsellor_id,
                func.percentile_cont(0.5).within_group(self.handling_s),
            )
            .where(self.in_sessions, ended)
            .group_by(func.grouping_sets(tuple_(c.counsellor_id), tuple_()))
        )
        medians: dict[int, float | None] = {}
        overall = None
        for g, sid, median in rows:
            value = None if median is None else float(median)
            if g == 1:
                overall = value
            elif sid is not None:
                medians[int(sid)] = value
        found = await self.s.execute(select(Staff.id, Staff.display_name))  # a few rows
        return medians, overall, {int(i): str(name) for i, name in found}

    async def session_counts(
        self,
    ) -> tuple[int, int, list[tuple[str, int]], list[tuple[str, int]]]:
        """Sessions started and escalated, escalation reasons and assessed risk (a
        session has at most one wrap-up) in one pass over the sessions joined to
        their wrap-ups, hashed by reason and risk; the few groups are then summed."""
        c = ChatSession
        reason = func.coalesce(c.escalation_reason, "").label("reason")
        inner = (
            select(
                reason,
                WrapUp.risk_level.label("risk"),
                func.count().label("started"),
                func.count(c.queued_at).label("escalated"),
                func.count(WrapUp.session_id).label("wrapped"),
            )
            .select_from(c)
            .outerjoin(WrapUp, WrapUp.session_id == c.id)
            .where(self.in_sessions)
            .group_by(reason, WrapUp.risk_level)
            .subquery()
        )
        escalated = func.sum(inner.c.escalated)
        rows = await self.s.execute(
            select(
                func.grouping(inner.c.reason, inner.c.risk),
                inner.c.reason,
                inner.c.risk,
                func.sum(inner.c.started),
                escalated,
                func.sum(inner.c.wrapped),
            )
            .group_by(func.grouping_sets(tuple_(inner.c.reason), tuple_(inner.c.risk)))
            .order_by(escalated.desc(), inner.c.reason)
        )
        started = queued = 0
        reasons, assessed = [], []
        for g, reason, level, n, n_queued, wrapped in rows:
            if g == 0b01:  # by reason
                started, queued = started + int(n), queued + int(n_queued)
                if n_queued:
                    reasons.append((str(reason), int(n_queued)))
            elif level is not None and wrapped:  # by assessed risk
                assessed.append((str(level), int(wrapped)))
        order = {k: -i for i, (k, _) in enumerate(RISK_LEVELS)}
        assessed.sort(key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
        return started, queued, reasons, assessed

    async def ratings(self) -> RatingFigures:
        r = Rating
        rows = await self.s.execute(
            select(r.score, func.count())
            .where(r.created_at >= self.period.start, r.created_at < self.period.end)
            .group_by(r.score)
            .order_by(r.score)
        )
        by_score = [(int(s), int(n)) for s, n in rows]
        count = sum(n for _, n in by_score)
        mean = sum(s * n for s, n in by_score) / count if count else None
        return RatingFigures(count, mean, by_score)


async def record_export(svc: Services, *, staff_id: int, detail: str) -> None:
    """An export of the statistics, in the audit log: who, when, which period."""
    async with svc.transaction() as tx:
        audit(tx, EXPORT, staff_id=staff_id, detail=detail)
