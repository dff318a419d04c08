"""The statistics' cells (gateway/statistics_figures.py) from the database, and the
cells of settled days kept in ``daily_figures``.

A local day is **settled** once it ended more than a day ago (before yesterday). Its
cells are built once from the sessions, waits and wrap-ups of that day and stored;
triggers (migration 0008) delete a day's rows whenever anything of that day changes
(a late wrap-up, a wait that ends, an erase), and the next read builds them again.
Today's and yesterday's cells are always built from the rows. So a year's page reads
about 365 x 5 small rows plus two days of rows, whatever the history holds, and gives
the same figures as reading every row (the tests compare both).

Building a settled day runs in its own short transaction: on PostgreSQL under an
exclusive advisory lock that every trigger takes shared (a change that commits while
the day is read waits, then deletes what was stored: see 0008), on SQLite under the
write lock. One day per transaction, so a writer waits for at most one day's read.
``settle_days`` builds missing days ahead of time (the timer loop calls it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from gateway.actions.waits import GAVE_UP, OUTCOME_CLAIMED, wait_class
from gateway.local_days import local_midnight
from gateway.models import ChatSession, DailyFigures, QueueWait, WrapUp, WrapUpOutcome
from gateway.services import Services
from gateway.settings import Settings
from gateway.statistics_figures import (
    BIN_EDGES_S,
    NO_COUNSELLOR,
    Cell,
    bin_of,
    decode_cell,
    encode_cell,
    pack,
)

# For PostgreSQL reads of a day's rows: by index, row by row. The planner would hash
# a whole year's wrap-ups to join the few hundred of one day; no JIT or parallel
# workers for queries of milliseconds.
_PG_DAY_READS = text(
    "SELECT set_config('enable_hashjoin', 'off', true),"
    " set_config('enable_mergejoin', 'off', true), set_config('jit', 'off', true),"
    " set_config('max_parallel_workers_per_gather', '0', true)"
)
# Migration 0008's LOCK_KEY: the advisory lock the builder holds and triggers share.
LOCK_KEY = 7_311_020_008
# The row that says a day was built (a day with no waits or sessions has only this).
BUILT = "*"
# Changing how a cell is computed? Raise this: rows of another version are rebuilt.
CELL_VERSION = 1
# How far back settle_days keeps days ready (the page allows periods of 400 days).
SETTLE_DAYS = 400

Cells = dict[tuple[date, str], Cell]


def settings_key(settings: Settings) -> str:
    """What the cells depend on besides the data: a change of any of it rebuilds them."""
    parts = {
        "v": CELL_VERSION,
        "zone": settings.timezone,
        "targets": sorted(settings.wait_target_s.items()),
        "short": settings.short_abandon_s,
        "bins": BIN_EDGES_S,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def last_settled_day(now: datetime, zone: ZoneInfo) -> date:
    """The latest local day that ended more than a day ago: the day before yesterday."""
    return now.astimezone(zone).date() - timedelta(days=2)


# --- building cells from the rows ---------------------------------------------------


@dataclass
class _Lists:
    claimed: list[float] = field(default_factory=list)
    gave_up: list[float] = field(default_factory=list)
    handling: dict[int, list[float]] = field(default_factory=dict)


class _Builder:
    """Accumulates rows into cells of local days."""

    def __init__(self, settings: Settings) -> None:
        self.zone = ZoneInfo(settings.timezone)
        self.targets = settings.wait_target_s
        self.short_s = settings.short_abandon_s
        self.cells: Cells = {}
        # Seconds gathered per cell, packed into it by ``finish``.
        self.lists: dict[tuple[date, str], _Lists] = {}
        self._classes: dict[tuple[int, str], str] = {}

    def _cell(self, at: datetime, priority: int, risk: str) -> tuple[Cell, _Lists, datetime]:
        klass = self._classes.get((priority, risk))
        if klass is None:
            klass = self._classes[(priority, risk)] = wait_class(priority, risk)
        local = at.astimezone(self.zone)
        key = (local.date(), klass)
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = Cell()
            self.lists[key] = _Lists()
        return cell, self.lists[key], local

    def finish(self) -> Cells:
        for key, lists in self.lists.items():
            cell = self.cells[key]
            cell.claimed_s = pack(lists.claimed)
            cell.gave_up_s = pack(lists.gave_up)
            cell.handling_s = {staff: pack(v) for staff, v in lists.handling.items()}
        return self.cells

    def wait(self, row: Any) -> None:
        entered, ended, priority, risk, outcome, staff_id = row
        cell, lists, local = self._cell(entered, priority, risk)
        klass = self._classes[(priority, risk)]
        cell.waits += 1
        hour = local.weekday() * 24 + local.hour
        cell.heat[hour] += 1
        if ended is None:
            cell.waiting += 1
            return
        seconds = max(0.0, (ended - entered).total_seconds())
        if outcome == OUTCOME_CLAIMED:
            cell.claimed += 1
            lists.claimed.append(seconds)
            cell.bins[bin_of(seconds)] += 1
            cell.counted += 1
            if seconds <= self.targets[klass]:
                cell.met += 1
            if staff_id is not None:
                cell.chats[staff_id] = cell.chats.get(staff_id, 0) + 1
        elif outcome in GAVE_UP:
            cell.gave_up += 1
            lists.gave_up.append(seconds)
            if seconds < self.short_s:
                cell.short += 1
            else:
                cell.counted += 1

    def session(self, row: Any) -> None:
        created, priority, risk, queued_at, reason, claimed_at, closed_at, staff_id, assessed = row
        cell, lists, _ = self._cell(created, priority, risk)
        cell.started += 1
        if queued_at is not None:
            cell.escalated += 1
            key = reason or ""
            cell.reasons[key] = cell.reasons.get(key, 0) + 1
        if claimed_at is not None and closed_at is not None:
            seconds = (closed_at - claimed_at).total_seconds()
            lists.handling.setdefault(staff_id or NO_COUNSELLOR, []).append(seconds)
        if assessed is not None:
            cell.assessed[assessed] = cell.assessed.get(assessed, 0) + 1

    def outcome(self, row: Any) -> None:
        created, priority, risk, outcome = row
        cell, _, _ = self._cell(created, priority, risk)
        cell.outcomes[outcome] = cell.outcomes.get(outcome, 0) + 1


def _dialect(db: AsyncSession | AsyncConnection) -> str:
    bind = db.get_bind() if isinstance(db, AsyncSession) else db
    return bind.dialect.name


async def build_cells(
    db: AsyncSession | AsyncConnection, settings: Settings, start: datetime, end: datetime
) -> Cells:
    """Every cell of the local days in UTC ``[start, end)``, from the rows."""
    w, c = QueueWait, ChatSession
    if _dialect(db) == "postgresql":
        await db.execute(_PG_DAY_READS)
    build = _Builder(settings)
    waits = select(w.entered_at, w.ended_at, w.priority, w.risk_level, w.outcome, w.staff_id)
    for row in await db.execute(waits.where(w.entered_at >= start, w.entered_at < end)):
        build.wait(row)
    sessions = (
        select(
            c.created_at,
            c.priority,
            c.risk_level,
            c.queued_at,
            c.escalation_reason,
            c.claimed_at,
            c.closed_at,
            c.counsellor_id,
            WrapUp.risk_level,
        )
        .select_from(c)
        .outerjoin(WrapUp, WrapUp.session_id == c.id)
        .where(c.created_at >= start, c.created_at < end)
    )
    for session_row in await db.execute(sessions):
        build.session(session_row)
    outcomes = (
        select(c.created_at, c.priority, c.risk_level, WrapUpOutcome.outcome)
        .join(c, c.id == WrapUpOutcome.session_id)
        .where(c.created_at >= start, c.created_at < end)
    )
    for outcome_row in await db.execute(outcomes):
        build.outcome(outcome_row)
    return build.finish()


# --- settled days, kept ---------------------------------------------------------------


def _span(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)


async def _stored(svc: Services, key: str, days: list[date]) -> tuple[Cells, set[date]]:
    """The kept cells of ``days`` and which days have been built."""
    if not days:
        return {}, set()
    cells: Cells = {}
    built: set[date] = set()
    first, last = days[0].isoformat(), days[-1].isoformat()
    f = DailyFigures
    query = select(f.day, f.wait_class, f.figures).where(
        f.key == key, f.day >= first, f.day <= last
    )
    async with svc.read() as session:
        for day_text, klass, data in await session.execute(query):
            day = date.fromisoformat(day_text)
            built.add(day)
            if klass != BUILT:
                cells[(day, klass)] = decode_cell(data)
    return cells, built


async def _build_and_keep(svc: Services, key: str, day: date) -> Cells:
    """Build one settled day's cells and keep them (one short transaction)."""
    zone = ZoneInfo(svc.settings.timezone)
    start, end = _span(day, zone)
    async with svc.db.engine.begin() as conn:
        if svc.db.is_postgres:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        f = DailyFigures
        # Another process may have built it meanwhile: replace, never duplicate.
        await conn.execute(delete(f).where(f.key == key, f.day == day.isoformat()))
        cells = await build_cells(conn, svc.settings, start, end)
        rows: list[dict[str, Any]] = [
            {"wait_class": klass, "figures": encode_cell(cell)}
            for (_, klass), cell in cells.items()
        ]
        rows.append({"wait_class": BUILT, "figures": b""})
        for row in rows:
            row.update(key=key, day=day.isoformat(), starts_at=start, ends_at=end)
        await conn.execute(insert(f), rows)
    return cells


async def cells_of_days(svc: Services, first: date, last: date) -> Cells:
    """The cells of local days ``first``..``last``: kept for settled days (built now
    if missing), built from the rows for the rest."""
    zone = ZoneInfo(svc.settings.timezone)
    key = settings_key(svc.settings)
    settled = last_settled_day(svc.clock(), zone)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    old = [d for d in days if d <= settled]
    cells, built = await _stored(svc, key, old)
    for day in old:
        if day not in built:
            cells.update(await _build_and_keep(svc, key, day))
    recent = [d for d in days if d > settled]
    if recent:
        start, end = _span(recent[0], zone)[0], _span(recent[-1], zone)[1]
        async with svc.read() as session:
            # Core rows (no ORM bookkeeping): a busy day is a few thousand of them.
            connection = await session.connection()
            cells.update(await build_cells(connection, svc.settings, start, end))
    return cells


async def settle_days(svc: Services, *, limit: int = 31) -> int:
    """Build up to ``limit`` missing settled days of the last SETTLE_DAYS, newest
    first, and drop cells kept under other settings. How many days were built."""
    zone = ZoneInfo(svc.settings.timezone)
    key = settings_key(svc.settings)
    last = last_settled_day(svc.clock(), zone)
    days = [last - timedelta(days=i) for i in range(SETTLE_DAYS)]
    _, built = await _stored(svc, key, sorted(days))
    missing = [d for d in days if d not in built][:limit]
    for day in missing:
        await _build_and_keep(svc, key, day)
    async with svc.db.engine.begin() as conn:
        await conn.execute(delete(DailyFigures).where(DailyFigures.key != key))
    return len(missing)
