"""HAVEN_RETENTION_DAYS: the purge removes a conversation's words and keeps its counts.

On SQLite and PostgreSQL: what goes and what stays, sessions still inside their
retention untouched, the bot-only chat nobody closed, batches (one audit line
each), two services purging one database at once (each session once), the
timer loop's round, ``haven purge``, and ratings' words.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from gateway import cli, scheduler
from gateway.actions import retention
from gateway.actions.audit import PURGE
from gateway.actions.messages import post_counsellor_message, post_user_message
from gateway.actions.notes import NoteError, add_note
from gateway.actions.queue import claim_session
from gateway.actions.ratings import rate_session
from gateway.actions.records import append_message, lock_session
from gateway.actions.retention import purge_expired
from gateway.actions.sessions import find_session, leave_session, start_session
from gateway.actions.wrapup import check_wrapup, end_session, wrapup_of
from gateway.app import build_bot
from gateway.broker import MemoryBroker
from gateway.db import Database
from gateway.models import (
    AuditEvent,
    ChatSession,
    Message,
    QueueWait,
    Rating,
    Staff,
    utcnow,
)
from gateway.scheduler import RetentionRounds
from gateway.services import Services
from gateway.settings import SettingsError, load_settings
from gateway.types import SenderKind, SessionState
from tests.factories import make_queued_session, make_session, make_staff
from tests.gateway.test_erase_policy import _counts as texts_of

asynchronous = pytest.mark.asyncio
DAY = timedelta(days=1)


def travel(svc: Services, days: float) -> None:
    """Move the services' clock ``days`` on from now."""
    later = utcnow() + days * DAY
    svc.clock = lambda: later


async def counsellor_chat(svc: Services, words: str = "I'm Alex from Leeds") -> tuple[int, Staff]:
    """A chat the bot greeted, a counsellor took and ended with a wrap-up: every kind of text."""
    chat = await make_queued_session(svc)
    async with svc.transaction() as tx:
        row = await lock_session(tx, chat.id)
        await append_message(tx, row, sender=SenderKind.BOT, text="Hello, I'm the bot.")
        row.escalation_match = "end it all"
        row.mood = "low"
    sam = await make_staff(svc, name="Sam")
    await post_user_message(svc, session_id=chat.id, client_id="p1", text=words)
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).won
    await post_counsellor_message(
        svc, session_id=chat.id, staff=sam, client_id="c1", text="Thank you, Alex"
    )
    await add_note(svc, session_id=chat.id, staff=sam, text="Alex mentioned school")
    form = check_wrapup(
        svc, outcomes=[svc.settings.wrapup_outcomes[0]], risk_level="medium", notes="Alex ok"
    )
    assert (await end_session(svc, session_id=chat.id, staff_id=sam.id, wrap_up=form)).done
    return chat.id, sam


async def row(svc: Services, session_id: int) -> ChatSession:
    async with svc.read() as session:
        chat = await session.get(ChatSession, session_id)
    assert chat is not None
    return chat


async def purge_lines(svc: Services) -> list[AuditEvent]:
    async with svc.read() as session:
        rows = await session.execute(
            select(AuditEvent).where(AuditEvent.action == PURGE).order_by(AuditEvent.id)
        )
        return list(rows.scalars())


@asynchronous
async def test_the_purge_removes_every_word_and_keeps_what_statistics_count(
    svc: Services,
) -> None:
    session_id, sam = await counsellor_chat(svc)
    before = await row(svc, session_id)
    assert await texts_of(svc, session_id) == (5, 1)

    travel(svc, 29.9)  # inside the 30 days: nothing goes
    assert (await purge_expired(svc)).sessions == 0
    assert await texts_of(svc, session_id) == (5, 1)

    travel(svc, 30.1)
    result = await purge_expired(svc)
    assert (result.sessions, result.files_clean) == (1, True)
    assert await texts_of(svc, session_id) == (0, 0)
    after = await row(svc, session_id)
    assert after.purged_at is not None
    assert (after.bot_state, after.escalation_match, after.mood, after.token_hash) == (
        None,
        None,
        None,
        None,
    )
    # What the statistics read stays exactly as it was.
    kept = ("state", "priority", "risk_level", "escalation_reason", "counsellor_id")
    times = ("created_at", "queued_at", "claimed_at", "closed_at")
    for name in kept + times:
        assert getattr(after, name) == getattr(before, name), name
    wrap = await wrapup_of(svc, session_id=session_id)
    assert wrap is not None and wrap.notes == "" and wrap.risk_level == "medium"
    assert [o.outcome for o in wrap.outcomes] == [svc.settings.wrapup_outcomes[0]]
    async with svc.read() as session:
        waits = (
            await session.execute(select(QueueWait).where(QueueWait.session_id == session_id))
        ).scalar_one()
    assert (waits.outcome, waits.staff_id) == ("claimed", sam.id)

    lines = await purge_lines(svc)
    assert [(e.staff_id, e.session_id) for e in lines] == [(None, None)]
    assert lines[0].detail is not None and lines[0].detail.startswith("1 conversations")
    # Purged once: a second run finds nothing and writes no line.
    assert (await purge_expired(svc)).sessions == 0
    assert len(await purge_lines(svc)) == 1


@asynchronous
async def test_after_the_purge_no_note_and_no_wrap_up_words_are_kept(svc: Services) -> None:
    chat = await make_queued_session(svc)
    jo = await make_staff(svc, name="Jo")
    assert (await claim_session(svc, session_id=chat.id, staff_id=jo.id)).won
    await leave_session(svc, session_id=chat.id)  # the person left: wrap-up still due
    travel(svc, 31)
    assert (await purge_expired(svc)).sessions == 1

    with pytest.raises(NoteError, match="retention"):
        await add_note(svc, session_id=chat.id, staff=jo, text="She said her address")
    form = check_wrapup(
        svc, outcomes=[svc.settings.wrapup_outcomes[0]], risk_level="low", notes="Quoted her"
    )
    assert (await end_session(svc, session_id=chat.id, staff_id=jo.id, wrap_up=form)).done
    wrap = await wrapup_of(svc, session_id=chat.id)
    assert wrap is not None and wrap.notes == "" and wrap.risk_level == "low"


@asynchronous
async def test_a_chat_left_with_the_bot_is_purged_once_the_person_is_long_gone(
    svc: Services,
) -> None:
    view, token = await retention_bot_chat(svc)
    travel(svc, 30.9)  # a day after they were last seen, plus the 30 days
    assert (await purge_expired(svc)).sessions == 0
    travel(svc, 31.1)
    assert (await purge_expired(svc)).sessions == 1
    assert await texts_of(svc, view) == (0, 0)
    assert await find_session(svc, token=token) is None  # the token resumes nothing


async def retention_bot_chat(svc: Services) -> tuple[int, str]:
    view, token = await start_session(svc, locale="en")
    await post_user_message(svc, session_id=view.id, client_id="p1", text="just looking")
    return view.id, token


@asynchronous
async def test_zero_days_keeps_nothing_after_close(svc: Services) -> None:
    svc.settings = replace(svc.settings, retention_days=0)
    open_chat = await make_session(svc)
    closed = await make_session(svc)
    for chat in (open_chat, closed):
        await post_user_message(svc, session_id=chat.id, client_id="p1", text="hello")
    await leave_session(svc, session_id=closed.id)
    travel(svc, 0.001)
    assert (await purge_expired(svc)).sessions == 1
    assert (await row(svc, closed.id)).purged_at is not None
    open_row = await row(svc, open_chat.id)
    assert open_row.purged_at is None and open_row.state == SessionState.BOT
    assert await texts_of(svc, open_chat.id) == (1, 0)


@asynchronous
async def test_a_backlog_is_purged_in_batches_with_a_line_each(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "PURGE_BATCH", 3)
    for _ in range(7):
        chat = await make_session(svc)
        await post_user_message(svc, session_id=chat.id, client_id="p1", text="hello")
        await leave_session(svc, session_id=chat.id)
    travel(svc, 31)
    assert (await purge_expired(svc)).sessions == 7
    details = [e.detail or "" for e in await purge_lines(svc)]
    assert [d.split(" ")[0] for d in details] == ["3", "3", "1"]


@pytest_asyncio.fixture
async def second_process(svc: Services) -> AsyncIterator[Services]:
    """Another gateway on the same database: its own engine, writer and pool."""
    db = Database(svc.settings.effective_database_url)
    other = Services(
        settings=svc.settings, db=db, broker=MemoryBroker(), bot=build_bot(svc.settings)
    )
    try:
        yield other
    finally:
        await db.dispose()


@asynchronous
async def test_two_processes_purging_at_once_purge_each_session_once(
    svc: Services, second_process: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "PURGE_BATCH", 2)
    for _ in range(9):
        chat = await make_session(svc)
        await post_user_message(svc, session_id=chat.id, client_id="p1", text="hello")
        await leave_session(svc, session_id=chat.id)
    travel(svc, 31)
    travel(second_process, 31)
    a, b = await asyncio.gather(purge_expired(svc), purge_expired(second_process))
    assert a.sessions + b.sessions == 9
    counted = sum(int((e.detail or "0").split(" ")[0]) for e in await purge_lines(svc))
    assert counted == 9
    async with svc.read() as session:
        left = (await session.execute(select(func.count()).select_from(Message))).scalar_one()
    assert left == 0


@asynchronous
async def test_the_timer_loop_purges_on_its_round(svc: Services) -> None:
    session_id, _sam = await counsellor_chat(svc)
    travel(svc, 31)
    await RetentionRounds().run_due(svc)
    assert (await row(svc, session_id)).purged_at is not None
    assert await texts_of(svc, session_id) == (0, 0)


@asynchronous
async def test_the_words_of_an_old_rating_go_and_its_score_stays(svc: Services) -> None:
    session_id, _sam = await counsellor_chat(svc)
    await rate_session(svc, session_id=session_id, score=4, comment="Sam was kind")
    travel(svc, 31)
    assert (await purge_expired(svc)).rating_comments == 1
    async with svc.read() as session:
        rating = (await session.execute(select(Rating))).scalar_one()
    assert (rating.score, rating.comment) == (4, None)


def test_haven_purge_on_the_command_line(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrate"]) == 0
    assert cli.main(["purge"]) == 0
    out = capsys.readouterr().out
    assert "Removed the text of 0 conversations closed more than 30 days ago" in out
    assert "Masked contact details in 0 closed conversations." in out


def test_retention_days_is_read_and_checked() -> None:
    assert load_settings({}).retention_days == 30
    assert load_settings({"HAVEN_RETENTION_DAYS": "0"}).retention_days == 0
    with pytest.raises(SettingsError, match="RETENTION_DAYS"):
        load_settings({"HAVEN_RETENTION_DAYS": "-1"})
    assert load_settings({}).redact is True
    assert load_settings({"HAVEN_REDACT": "off"}).redact is False


@asynchronous
async def test_the_timer_loop_takes_a_backlog_a_slice_a_round(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in (retention, scheduler):
        monkeypatch.setattr(module, "PURGE_BATCH", 2)
    monkeypatch.setattr(scheduler, "RETENTION_BATCHES_PER_ROUND", 2)
    for _ in range(9):
        chat = await make_session(svc)
        await leave_session(svc, session_id=chat.id)
    travel(svc, 31)
    rounds = scheduler.RetentionRounds()
    purged = []
    for _ in range(3):
        await rounds.run_due(svc)
        async with svc.read() as session:
            purged.append(
                (
                    await session.execute(
                        select(func.count()).where(ChatSession.purged_at.is_not(None))
                    )
                ).scalar_one()
            )
    # Four a round (two batches of two), the rest at the next round, then an hour's rest.
    assert purged == [4, 8, 9]
    assert rounds.next_purge > time.monotonic() + retention.PURGE_EVERY_S / 2
