"""Synthetic history for the demo and the benchmark (``haven history``).

Days of made-up but plausible service: evenings and nights busier than mornings,
Sundays and Mondays busier than Fridays; most people talk with the bot only, some
ask for a person, fewer are in crisis and few of those at imminent risk. Waits grow
when the service is busy and some people give up waiting; counsellors claim, now
and then release a chat back to the queue, end with a wrap-up (outcomes, assessed
risk) and some people leave an anonymous rating.

It writes rows only where the statistics read them: ``chat_sessions`` (closed or
abandoned), ``queue_waits`` (gateway/actions/waits.py's vocabulary), ``wrap_ups``,
``wrap_up_outcomes`` and ``ratings``. Never a message, never any text a person or
a counsellor might have written: no transcript, no notes, no rating comments.

Rows go in with SQLAlchemy Core in batches (PostgreSQL: COPY), so a million
sessions load in minutes. Everything happens before ``now``'s day in the service's
time zone: today belongs to the live demo.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.actions.waits import (
    CAUSE_ESCALATED,
    CAUSE_RELEASED,
    OUTCOME_ABANDONED,
    OUTCOME_CLAIMED,
    OUTCOME_LEFT,
)
from gateway.models import ChatSession, QueueWait, Rating, Staff, WrapUp, WrapUpOutcome
from gateway.types import Priority, SessionState, StaffRole

# Relative demand by local hour (0-23): quiet early morning, rising through the day,
# busiest in the late evening, still busy after midnight (helplines' common shape).
HOURLY = (
    0.9, 0.7, 0.5, 0.35, 0.25, 0.2, 0.2, 0.3, 0.45, 0.6, 0.7, 0.75,
    0.8, 0.8, 0.8, 0.85, 0.95, 1.05, 1.2, 1.4, 1.6, 1.7, 1.6, 1.3,
)  # fmt: skip
# Relative demand by weekday (Monday first): Sunday and Monday busiest, Friday least.
WEEKLY = (1.2, 1.0, 0.95, 0.95, 0.85, 0.9, 1.25)
# Shares of sessions: bot only, asked for a person, in crisis.
BOT_ONLY, REQUESTED = 0.62, 0.28
# Of crises, the level the detector found (few imminent).
CRISIS_LEVELS = (("concern", 0.45), ("high", 0.45), ("imminent", 0.10))
# Escalation reasons as the bot writes them (bot_engine/turn.py): request:<how>, or the
# crisis rule that matched (crisis:<rule>) with the topic the detector gives it.
REQUEST_REASONS = (("request:button", 0.7), ("request:typed", 0.3))
CRISIS_REASONS = {
    "concern": (
        ("crisis:wish_to_die", "suicide"),
        ("crisis:self_harm:urge", "self_harm"),
        ("crisis:self_harm:method", "self_harm"),
    ),
    "high": (("crisis:end_it", "suicide"), ("crisis:method:overdose_plan", "suicide")),
    "imminent": (("crisis:acting_now", "suicide"), ("crisis:method:overdose_taken", "suicide")),
}
# What a counsellor assesses at wrap-up, in the form's words (gateway/actions/wrapup.py
# RISK_LEVELS), from the level the detector found: mostly the same, sometimes not.
ASSESSED = {
    "none": (("none", 0.85), ("low", 0.12), ("medium", 0.03)),
    "concern": (("low", 0.3), ("medium", 0.55), ("high", 0.15)),
    "high": (("medium", 0.25), ("high", 0.65), ("immediate", 0.10)),
    "imminent": (("high", 0.4), ("immediate", 0.6)),
}
# Median wait at average demand (seconds) and patience before giving up (mean seconds).
MEDIAN_WAIT_S = {Priority.CRISIS: 40.0, Priority.REQUESTED: 180.0}
PATIENCE_S = {Priority.CRISIS: 3600.0, Priority.REQUESTED: 1500.0}
RELEASED_SHARE = 0.04  # claimed chats released back to the queue and claimed again
RATED_SHARE = 0.35  # people who answer the optional rating after a counsellor chat
SCORES = ((5, 0.45), (4, 0.3), (3, 0.13), (2, 0.07), (1, 0.05))
BATCH = 20_000  # sessions per transaction
SYNTHETIC_STAFF = ("Robin", "Kit", "Morgan", "Ash", "Jules", "Priya")


@dataclass
class HistoryCounts:
    sessions: int = 0
    waits: int = 0
    wrap_ups: int = 0
    ratings: int = 0
    abandoned: int = 0


@dataclass
class _Batch:
    sessions: list[dict[str, Any]] = field(default_factory=list)
    waits: list[dict[str, Any]] = field(default_factory=list)
    wrap_ups: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    ratings: list[dict[str, Any]] = field(default_factory=list)


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def history_days(days: int, today: date) -> list[date]:
    """The ``days`` local days before ``today``, oldest first."""
    return [today - timedelta(days=days - i) for i in range(days)]


class _Generator:
    def __init__(
        self,
        *,
        rng: random.Random,
        tz: ZoneInfo,
        staff: Sequence[int],
        outcomes: Sequence[str],
        first_id: int,
    ) -> None:
        self.rng, self.tz, self.staff, self.outcomes = rng, tz, staff, outcomes
        self.next_id = first_id
        self.counts = HistoryCounts()
        self.mean_hour = sum(HOURLY) / len(HOURLY)
        self.mean_week = sum(WEEKLY) / len(WEEKLY)

    def day(self, day: date, sessions_per_day: float, batch: _Batch) -> None:
        weight = WEEKLY[day.weekday()] / self.mean_week
        n = max(0, round(self.rng.gauss(sessions_per_day * weight, math.sqrt(sessions_per_day))))
        hours = self.rng.choices(range(24), HOURLY, k=n)
        for hour in sorted(hours):
            local = datetime.combine(day, time(hour), self.tz) + timedelta(
                seconds=self.rng.uniform(0, 3600)
            )
            load = (HOURLY[hour] / self.mean_hour) * weight
            self.session(local.astimezone(UTC), load, batch)

    def session(self, start: datetime, load: float, batch: _Batch) -> None:
        rng = self.rng
        sid = self.next_id
        self.next_id += 1
        self.counts.sessions += 1
        row: dict[str, Any] = {
            "id": sid,
            "state": SessionState.CLOSED.value,
            "priority": int(Priority.OTHER),
            "queue_front": False,
            "escalation_reason": None,
            "risk_level": "none",
            "risk_topic": None,
            "locale": "cy" if rng.random() < 0.03 else "en",
            "last_seq": 0,
            "counsellor_id": None,
            "created_at": start,
            "queued_at": None,
            "claimed_at": None,
            "closed_at": start + timedelta(seconds=rng.uniform(90, 900)),
            "user_seen_at": start,
            "rated": False,
        }
        batch.sessions.append(row)
        kind = rng.random()
        if kind < BOT_ONLY:
            row["user_seen_at"] = row["closed_at"]
            return
        if kind < BOT_ONLY + REQUESTED:
            priority, level, topic = Priority.REQUESTED, "none", None
            reason = _pick(rng, REQUEST_REASONS)
        else:
            priority, level = Priority.CRISIS, _pick(rng, CRISIS_LEVELS)
            reason, topic = rng.choice(CRISIS_REASONS[level])
        queued = start + timedelta(seconds=rng.uniform(40, 600))
        row.update(
            priority=int(priority),
            risk_level=level,
            risk_topic=topic,
            escalation_reason=reason,
            queued_at=queued,
        )
        entered, cause, claimer = queued, CAUSE_ESCALATED, None
        for _attempt in range(2):
            # Waits grow faster than demand (a queue near capacity), spread lognormally.
            wait = MEDIAN_WAIT_S[priority] * load**2 * math.exp(rng.gauss(0, 0.8))
            patience = rng.expovariate(1 / PATIENCE_S[priority])
            wait_row: dict[str, Any] = {
                "session_id": sid,
                "entered_at": entered,
                "cause": cause,
                "priority": int(priority),
                "risk_level": level,
                "staff_id": None,
            }
            batch.waits.append(wait_row)
            self.counts.waits += 1
            if patience < wait:
                gone = entered + timedelta(seconds=patience)
                # Some end the chat themselves (left: the session closes), the others
                # close the widget and are counted abandoned when their time is up.
                left = rng.random() < 0.3
                wait_row.update(ended_at=gone, outcome=OUTCOME_LEFT if left else OUTCOME_ABANDONED)
                # A release had already taken the counsellor off (return_to_queue).
                row.update(
                    state=(SessionState.CLOSED if left else SessionState.ABANDONED).value,
                    closed_at=gone,
                    user_seen_at=gone,
                    counsellor_id=None,
                )
                self.counts.abandoned += 1
                return
            claimed = entered + timedelta(seconds=wait)
            others = [s for s in self.staff if s != claimer] or list(self.staff)
            claimer = rng.choice(others)
            wait_row.update(ended_at=claimed, outcome=OUTCOME_CLAIMED, staff_id=claimer)
            row.update(counsellor_id=claimer, claimed_at=claimed)
            minutes = 40.0 if priority == Priority.CRISIS else 25.0
            handled = 60 * minutes * math.exp(rng.gauss(0, 0.5))
            if _attempt == 0 and rng.random() < RELEASED_SHARE:
                entered, cause = claimed + timedelta(seconds=handled / 4), CAUSE_RELEASED
                continue
            closed = claimed + timedelta(seconds=handled)
            row.update(closed_at=closed, user_seen_at=closed)
            self.wrap_up(sid, claimer, closed, priority, level, batch)
            if rng.random() < RATED_SHARE:
                row["rated"] = True
                batch.ratings.append(
                    {
                        "score": _pick(rng, SCORES),
                        "comment": None,
                        "locale": row["locale"],
                        "created_at": closed + timedelta(seconds=rng.uniform(10, 120)),
                    }
                )
                self.counts.ratings += 1
            return

    def wrap_up(
        self, sid: int, staff: int, closed: datetime, priority: Priority, level: str, batch: _Batch
    ) -> None:
        rng = self.rng
        assessed = _pick(rng, ASSESSED[level])
        batch.wrap_ups.append(
            {
                "session_id": sid,
                "staff_id": staff,
                "risk_level": assessed,
                "notes": "",
                "created_at": closed + timedelta(seconds=rng.uniform(30, 300)),
            }
        )
        self.counts.wrap_ups += 1
        first = self.outcomes[0]
        chosen = {first} if rng.random() < 0.7 else {rng.choice(self.outcomes)}
        if assessed in ("high", "immediate") and len(self.outcomes) > 2:
            chosen.add(self.outcomes[2])  # a safety plan, in the default list
        if rng.random() < 0.25 and len(self.outcomes) > 1:
            chosen.add(self.outcomes[1])
        batch.outcomes.extend({"session_id": sid, "outcome": o} for o in sorted(chosen))


async def _staff_ids(conn: AsyncConnection) -> list[int]:
    """Counsellors and supervisors to claim the chats; a few made up if there are none."""
    roles = (StaffRole.COUNSELLOR.value, StaffRole.SUPERVISOR.value)
    ids = list((await conn.execute(select(Staff.id).where(Staff.role.in_(roles)))).scalars())
    if ids:
        return ids
    now = datetime.now(UTC)
    for name in SYNTHETIC_STAFF:
        # Not able to sign in: "!" is no Argon2 hash, and the account is inactive.
        await conn.execute(
            insert(Staff).values(
                username=f"history-{name.lower()}",
                display_name=name,
                password_hash="!",  # noqa: S106 - matches no password at all
                role=StaffRole.COUNSELLOR.value,
                active=False,
                available=False,
                created_at=now,
            )
        )
    return list((await conn.execute(select(Staff.id).where(Staff.role.in_(roles)))).scalars())


def _today(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()


async def has_history(engine: AsyncEngine, *, now: datetime, timezone: str) -> bool:
    """Whether any session started before today (the service's zone): the demo's marker."""
    tz = ZoneInfo(timezone)
    midnight = datetime.combine(_today(now, tz), time(0), tz).astimezone(UTC)
    async with engine.connect() as conn:
        found = await conn.execute(
            select(ChatSession.id).where(ChatSession.created_at < midnight).limit(1)
        )
        return found.first() is not None


async def generate_history(
    engine: AsyncEngine,
    *,
    days: int,
    sessions_per_day: float,
    seed: int,
    timezone: str,
    outcomes: Sequence[str],
    now: datetime | None = None,
) -> HistoryCounts:
    """Write ``days`` days of synthetic history ending yesterday; returns what was written."""
    tz = ZoneInfo(timezone)
    today = _today(now or datetime.now(UTC), tz)
    async with engine.begin() as conn:
        staff = await _staff_ids(conn)
        first_id = ((await conn.execute(select(func.max(ChatSession.id)))).scalar() or 0) + 1
    gen = _Generator(
        rng=random.Random(seed), tz=tz, staff=staff, outcomes=outcomes, first_id=first_id
    )
    batch = _Batch()
    for day in history_days(days, today):
        gen.day(day, sessions_per_day, batch)
        if len(batch.sessions) >= BATCH:
            await _write(engine, batch)
            batch = _Batch()
    await _write(engine, batch)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            # The ids were given here: move the sequence past them.
            await conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('chat_sessions', 'id'), "
                    "(SELECT max(id) FROM chat_sessions))"
                )
            )
    return gen.counts


def _tables(batch: _Batch) -> Iterator[tuple[Table, list[dict[str, Any]]]]:
    yield cast(Table, ChatSession.__table__), batch.sessions
    yield cast(Table, QueueWait.__table__), batch.waits
    yield cast(Table, WrapUp.__table__), batch.wrap_ups
    yield cast(Table, WrapUpOutcome.__table__), batch.outcomes
    yield cast(Table, Rating.__table__), batch.ratings


async def _write(engine: AsyncEngine, batch: _Batch) -> None:
    if not batch.sessions:
        return
    async with engine.begin() as conn:
        for table, rows in _tables(batch):
            if not rows:
                continue
            if engine.dialect.name == "postgresql":
                await _copy(conn, table, rows)
            else:
                await conn.execute(insert(table), rows)


async def _copy(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's COPY through asyncpg: several times faster than INSERTs."""
    columns = list(rows[0])
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.copy_records_to_table(
        table.name, records=[tuple(r[c] for c in columns) for r in rows], columns=columns
    )
