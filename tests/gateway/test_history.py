"""Synthetic history (issue 11, item 8): the rhythms a helpline sees, the wait log's own
vocabulary, never a word of text, and the demo's history written once."""

from __future__ import annotations

import asyncio
import statistics
from collections import Counter
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from gateway import cli
from gateway.actions.waits import CAUSES, OUTCOME_CLAIMED, OUTCOMES
from gateway.actions.wrapup import RISK_LABELS
from gateway.db import create_engine
from gateway.history import generate_history
from gateway.models import ChatSession, Message, QueueWait, Rating, SessionNote, WrapUp
from gateway.settings import Settings, load_settings

ZONE = "Europe/London"
# A Wednesday: the four weeks before it cross the clocks going forward (30 March 2025).
NOW = datetime(2025, 4, 2, 12, 0, tzinfo=UTC)


@pytest.mark.asyncio
async def test_history_has_the_rhythms_and_no_text(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        counts = await generate_history(
            engine,
            days=28,
            sessions_per_day=150,
            seed=3,
            timezone=ZONE,
            outcomes=Settings().wrapup_outcomes,
            now=NOW,
        )
        async with engine.connect() as conn:
            sessions = (await conn.execute(select(ChatSession.__table__))).all()
            waits = (await conn.execute(select(QueueWait.__table__))).all()
            wrap_notes = set((await conn.execute(select(WrapUp.notes))).scalars())
            assessed = set((await conn.execute(select(WrapUp.risk_level))).scalars())
            comments = set((await conn.execute(select(Rating.comment))).scalars())
            ratings = (await conn.execute(select(func.count(Rating.id)))).scalar_one()
            messages = (await conn.execute(select(func.count(Message.id)))).scalar_one()
            notes = (await conn.execute(select(func.count(SessionNote.id)))).scalar_one()
        if engine.dialect.name == "postgresql":
            # The ids were given by the generator: a new session still gets a fresh one.
            async with engine.begin() as conn:
                fresh = (
                    await conn.execute(
                        ChatSession.__table__.insert().returning(ChatSession.id),
                        {"created_at": NOW, "user_seen_at": NOW},
                    )
                ).scalar_one()
            assert fresh > max(s.id for s in sessions)
    finally:
        await engine.dispose()

    assert counts.sessions == len(sessions) > 28 * 100
    assert counts.waits == len(waits) and counts.ratings == ratings > 0
    # Never text: no messages, no notes, empty wrap-up notes, no rating comments,
    # nothing the person typed as the escalation's match.
    assert messages == 0 and notes == 0
    assert wrap_notes == {""} and comments == {None}
    assert {s.escalation_match for s in sessions} == {None}

    tz = ZoneInfo(ZONE)
    local = [s.created_at.replace(tzinfo=UTC).astimezone(tz) for s in sessions]
    midnight = datetime.combine(NOW.astimezone(tz).date(), time(0), tz)
    assert max(local) < midnight  # today belongs to the live demo
    assert {s.state for s in sessions} == {"closed", "abandoned"}

    # Daily rhythm: the late evening far busier than six in the morning.
    by_hour = Counter(t.hour for t in local)
    assert by_hour[21] > 3 * by_hour[6]
    assert by_hour[21] > by_hour[10]
    # Weekly rhythm: Sundays and Mondays busier than Fridays (four of each).
    by_day = Counter(t.weekday() for t in local)
    assert by_day[6] > by_day[4] and by_day[0] > by_day[4]

    # Mostly bot only; fewer crises than requests; few imminent.
    escalated = [s for s in sessions if s.queued_at is not None]
    assert len(escalated) < len(sessions) / 2
    priorities = Counter(s.priority for s in escalated)
    assert 0 < priorities[3] < priorities[2]
    levels = Counter(s.risk_level for s in escalated)
    assert 0 < levels["imminent"] < levels["high"]
    # Reasons and levels in the words the live service writes, so the pages read them.
    for s in escalated:
        if s.priority == 3:
            assert s.escalation_reason.startswith("crisis:") and s.risk_topic is not None
        else:
            assert s.escalation_reason.startswith("request:") and s.risk_topic is None
    assert assessed <= set(RISK_LABELS) and {"none", "high", "immediate"} <= assessed

    # The wait log in waits.py's vocabulary; some gave up; re-queued waits exist.
    assert {w.cause for w in waits} <= set(CAUSES) and {w.outcome for w in waits} <= set(OUTCOMES)
    assert Counter(w.cause for w in waits)["released"] > 0
    assert all(w.ended_at >= w.entered_at for w in waits)
    assert all((w.staff_id is not None) == (w.outcome == OUTCOME_CLAIMED) for w in waits)
    gave_up = [w for w in waits if w.outcome in ("abandoned", "left")]
    assert 0 < len(gave_up) < len(waits) / 2
    assert any(s.state == "abandoned" for s in sessions)

    # Waits grow when it is busy: the evening's median claimed wait is longer.
    def median_wait(hours: range) -> float:
        return statistics.median(
            (w.ended_at - w.entered_at).total_seconds()
            for w in waits
            if w.outcome == OUTCOME_CLAIMED
            and w.entered_at.replace(tzinfo=UTC).astimezone(tz).hour in hours
        )

    assert median_wait(range(20, 23)) > median_wait(range(8, 11))


async def _sessions(settings: Settings) -> int:
    engine = create_engine(settings.effective_database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count(ChatSession.id)))).scalar_one())
    finally:
        await engine.dispose()


def test_the_demo_writes_its_history_once(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrate"]) == 0
    settings = load_settings()
    first = cli.seed_demo_history(settings)
    assert first is not None and first.sessions > cli.DEMO_HISTORY_DAYS * 20
    assert "Synthetic history of 60 days" in capsys.readouterr().out
    stored = asyncio.run(_sessions(settings))
    assert stored == first.sessions
    # make run again: there is history already, nothing is added.
    assert cli.seed_demo_history(settings) is None
    assert asyncio.run(_sessions(settings)) == stored
    # The command itself always adds what it is asked for.
    assert cli.main(["history", "--days", "3", "--sessions-per-day", "10", "--seed", "5"]) == 0
    assert asyncio.run(_sessions(settings)) > stored


def test_history_is_refused_outside_development(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HAVEN_ENV", "production")
    monkeypatch.setenv("HAVEN_SECRET_KEY", "a-production-secret-key-of-forty-characters")
    assert cli.main(["history", "--days", "1"]) == 2
    assert "runs only in development" in capsys.readouterr().err
    assert not (env / "haven.db").exists()
