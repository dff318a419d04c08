"""Settled days' statistics kept in daily_figures: the same figures as the rows give,
and forgotten (by the database's triggers) whenever anything of their day changes."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from sqlalchemy import delete, func, select, text, update

from gateway.actions.daily_figures import (
    BUILT,
    LOCK_KEY,
    last_settled_day,
    settings_key,
    settle_days,
)
from gateway.actions.statistics import Statistics, statistics_for
from gateway.models import ChatSession, DailyFigures, QueueWait, WrapUp, WrapUpOutcome
from gateway.services import Services
from tests.counsellor_ui.support import Clock
from tests.factories import add_history_wait

pytestmark = pytest.mark.asyncio
LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 6, 2)  # long settled (the tests run with the real clock unless told)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON).astimezone(UTC)


async def kept_days(svc: Services) -> set[str]:
    async with svc.read() as session:
        rows = await session.execute(
            select(DailyFigures.day).where(DailyFigures.wait_class == BUILT)
        )
        return {str(day) for (day,) in rows}


async def forget_all(svc: Services) -> None:
    async with svc.transaction() as tx:
        await tx.session.execute(delete(DailyFigures))


def figures(stats: Statistics) -> dict[str, object]:
    """Everything but the period, with floats rounded past the last bits (the kept
    and the fresh figures are the same numbers summed in another order)."""

    def rounded(value: object) -> object:
        if isinstance(value, float):
            return round(value, 6)
        if isinstance(value, dict):
            return {k: rounded(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [rounded(v) for v in value]
        return value

    as_dict = dataclasses.asdict(stats)
    as_dict.pop("period")
    return {key: rounded(value) for key, value in as_dict.items()}


async def three_days_of_waits(svc: Services, seed: int = 5) -> None:
    rng = random.Random(seed)
    levels = [(3, "imminent"), (3, "none"), (2, "none"), (1, "none"), (3, "concern")]
    for i in range(60):
        day = DAY + timedelta(days=i % 3)
        priority, risk = rng.choice(levels)
        await add_history_wait(
            svc,
            local(day, rng.randrange(24), rng.randrange(60)),
            rng.choice([4.5, 30, 61.25, 200, 700, None]),
            outcome=rng.choice(["claimed", "claimed", "abandoned", "left"]),
            priority=priority,
            risk=risk,
        )


async def test_kept_figures_are_the_figures_of_the_rows(svc: Services) -> None:
    await three_days_of_waits(svc)
    last = DAY + timedelta(days=2)
    first_read = await statistics_for(svc, first=DAY, last=last)
    assert await kept_days(svc) == {(DAY + timedelta(days=i)).isoformat() for i in range(3)}
    from_kept = await statistics_for(svc, first=DAY, last=last)
    # The same days, as "today" and "yesterday" of a clock two days later: from the rows.
    svc.clock = Clock(local(last, 15))
    await forget_all(svc)
    from_rows = await statistics_for(svc, first=DAY, last=last)
    assert await kept_days(svc) == {DAY.isoformat()}  # only the settled one was kept
    assert figures(first_read) == figures(from_kept) == figures(from_rows)
    assert first_read.waits.waits == 60
    for key in ("imminent", "requested"):
        one = await statistics_for(svc, first=DAY, last=last, wait_class=key)
        svc.clock = Clock(datetime.now(UTC))
        assert figures(one) == figures(
            await statistics_for(svc, first=DAY, last=last, wait_class=key)
        )
        svc.clock = Clock(local(last, 15))


async def test_today_and_yesterday_are_never_kept(svc: Services) -> None:
    now = datetime.now(UTC)
    today = now.astimezone(LONDON).date()
    await add_history_wait(svc, now - timedelta(minutes=30), 40)
    stats = await statistics_for(svc, first=today - timedelta(days=3), last=today)
    assert stats.waits.claimed == 1
    assert last_settled_day(now, LONDON) == today - timedelta(days=2)
    assert await kept_days(svc) == {(today - timedelta(days=i)).isoformat() for i in (2, 3)}


async def _wrap_up(svc: Services, session_id: int) -> None:
    async with svc.transaction() as tx:
        tx.session.add(WrapUp(session_id=session_id, risk_level="high", notes=""))
        await tx.session.flush()
        tx.session.add(WrapUpOutcome(session_id=session_id, outcome="Safety plan agreed"))


async def test_any_change_to_a_kept_day_forgets_that_day_only(svc: Services) -> None:
    other_day = DAY + timedelta(days=5)
    chat = await add_history_wait(svc, local(DAY, 10), None)  # still open
    await add_history_wait(svc, local(other_day, 10), 30)

    async def read() -> Statistics:
        stats = await statistics_for(svc, first=DAY, last=other_day)
        assert {DAY.isoformat(), other_day.isoformat()} <= await kept_days(svc)
        return stats

    async def forgotten() -> bool:
        kept = await kept_days(svc)
        assert other_day.isoformat() in kept  # never the other day
        return DAY.isoformat() not in kept

    stats = await read()
    assert (stats.waits.waiting, stats.waits.claimed) == (1, 1)

    # The open wait ends (an UPDATE of queue_waits).
    async with svc.transaction() as tx:
        await tx.session.execute(
            update(QueueWait)
            .where(QueueWait.session_id == chat)
            .values(ended_at=local(DAY, 10, 5), outcome="claimed")
        )
    assert await forgotten()
    stats = await read()
    assert (stats.waits.waiting, stats.waits.claimed, stats.waits.max_s) == (0, 2, 300)

    # A wrap-up written late (INSERTs into wrap_ups and wrap_up_outcomes).
    await _wrap_up(svc, chat)
    assert await forgotten()
    stats = await read()
    assert stats.assessed == [("high", 1)] and stats.outcomes == [("Safety plan agreed", 1)]

    # The wrap-up goes (an erase under HAVEN_ERASE_STAFF_RECORDS=all: a DELETE).
    async with svc.transaction() as tx:
        await tx.session.execute(delete(WrapUp).where(WrapUp.session_id == chat))
    assert await forgotten()
    stats = await read()
    assert stats.assessed == [] and stats.outcomes == []

    # A session's statistics column changes (a late claim's times).
    async with svc.transaction() as tx:
        await tx.session.execute(
            update(ChatSession)
            .where(ChatSession.id == chat)
            .values(claimed_at=local(DAY, 10, 5), closed_at=local(DAY, 11, 5))
        )
    assert await forgotten()
    assert (await read()).sessions.handling_median_s == 3600

    # A new row of that day (history written after the fact: an INSERT).
    await add_history_wait(svc, local(DAY, 23, 59), 12)
    assert await forgotten()
    assert (await read()).waits.claimed == 3


async def test_a_message_or_a_sign_of_life_keeps_the_figures(svc: Services) -> None:
    chat = await add_history_wait(svc, local(DAY, 9), 20)
    await statistics_for(svc, first=DAY, last=DAY)
    async with svc.transaction() as tx:
        await tx.session.execute(
            update(ChatSession)
            .where(ChatSession.id == chat)
            .values(last_seq=ChatSession.last_seq + 1, user_seen_at=local(DAY, 9, 30))
        )
    assert DAY.isoformat() in await kept_days(svc)


async def test_other_settings_keep_their_own_figures(svc: Services) -> None:
    await add_history_wait(svc, local(DAY, 23, 30), 20)  # 22:30 UTC in summer
    london = await statistics_for(svc, first=DAY, last=DAY)
    utc_settings = dataclasses.replace(svc.settings, timezone="UTC")
    assert settings_key(utc_settings) != settings_key(svc.settings)
    svc.settings = utc_settings
    utc = await statistics_for(svc, first=DAY, last=DAY)
    assert (london.by_hour[23], utc.by_hour[22]) == (1, 1)
    # Settling under the new settings drops the old ones' rows.
    await settle_days(svc, limit=1)
    async with svc.read() as session:
        keys = set((await session.execute(select(DailyFigures.key).distinct())).scalars())
    assert keys == {settings_key(utc_settings)}


async def test_settle_days_builds_the_newest_missing_days(svc: Services) -> None:
    svc.clock = Clock(local(DAY, 12))
    await add_history_wait(svc, local(DAY - timedelta(days=3), 8), 15)
    assert await settle_days(svc, limit=3) == 3
    newest = DAY - timedelta(days=2)
    assert await kept_days(svc) == {(newest - timedelta(days=i)).isoformat() for i in range(3)}
    async with svc.read() as session:
        count = select(func.count()).select_from(DailyFigures)
        rows = (await session.execute(count.where(DailyFigures.wait_class != BUILT))).scalar()
    assert rows == 1  # one class had a wait on one of those days; the rest are marks
    assert await settle_days(svc, limit=3) == 3  # the next three, not the same again


@pytest.mark.postgres
async def test_a_change_during_a_build_waits_and_then_forgets_it(
    svc: Services, database_url: str
) -> None:
    """The trigger takes the builder's lock shared: a change that commits while a
    day is being read cannot leave figures built from the older rows."""
    if not svc.db.is_postgres:
        pytest.skip("SQLite has one writer at a time")
    chat = await add_history_wait(svc, local(DAY, 10), None)
    dsn = database_url.replace("postgresql+asyncpg", "postgresql")
    builder, writer = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        building = builder.transaction()
        await building.start()
        await builder.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        change = asyncio.create_task(
            writer.execute(
                "UPDATE queue_waits SET ended_at = entered_at, outcome = 'claimed'"
                " WHERE session_id = $1",
                chat,
            )
        )
        await asyncio.sleep(0.5)
        assert not change.done()  # it waits for the day being built
        await builder.execute(
            "INSERT INTO daily_figures (key, day, wait_class, starts_at, ends_at, figures)"
            " VALUES ('k', $1, '*', $2, $3, '')",
            DAY.isoformat(),
            local(DAY, 0),
            local(DAY + timedelta(days=1), 0),
        )
        await building.commit()
        await asyncio.wait_for(change, 10)
        assert await builder.fetchval("SELECT count(*) FROM daily_figures") == 0
    finally:
        await builder.close()
        await writer.close()
    async with svc.read() as session:
        assert (await session.execute(text("SELECT count(*) FROM daily_figures"))).scalar() == 0
