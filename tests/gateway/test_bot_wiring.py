"""The bot wired into the gateway: state in the database, check-ins from stored timers, locales."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot_engine import ConversationState, SessionEvent, UserMessage
from gateway.actions.bot import run_bot
from gateway.actions.messages import messages_after
from gateway.actions.queue import escalate
from gateway.actions.records import lock_session
from gateway.broker import MemoryBroker
from gateway.db import Database
from gateway.delivery import BotDelivery
from gateway.live.hub import LiveHub
from gateway.models import ChatSession
from gateway.ratelimit import ConnectionCounter
from gateway.runtime import Runtime
from gateway.scheduler import fire_due_timers
from gateway.services import Services
from gateway.types import Priority, SenderKind
from tests.factories import make_session

pytestmark = pytest.mark.asyncio


async def stored_state(svc: Services, session_id: int) -> ConversationState:
    async with svc.read() as session:
        chat = await session.get(ChatSession, session_id)
        assert chat is not None and chat.bot_state is not None
        return ConversationState.from_json(chat.bot_state)


def runtime_for(svc: Services) -> Runtime:
    return Runtime(
        svc=svc,
        delivery=BotDelivery(svc.broker),
        addresses=ConnectionCounter(10),
        hub=LiveHub(svc),
    )


async def test_a_restart_resumes_the_conversation_at_the_same_node(svc: Services) -> None:
    chat = await make_session(svc)
    await run_bot(svc, session_id=chat.id, event=SessionEvent(kind="started"))
    await run_bot(svc, session_id=chat.id, event=UserMessage(text="Yes, continue", value="yes"))
    before = await stored_state(svc, chat.id)
    assert before.consented

    # A new process: new engine connection pool, same database.
    restarted = replace(
        svc, db=Database(svc.settings.effective_database_url), broker=MemoryBroker()
    )
    try:
        after = await stored_state(restarted, chat.id)
        assert after == before
        now = svc.clock()
        said = UserMessage(text="I feel a bit anxious about my exams")
        expected = svc.bot.step(before, said, now)
        turn = await run_bot(restarted, session_id=chat.id, event=said)
        stored = [e for e in turn.events if getattr(e, "sender", None) == "bot"]
        assert [getattr(e, "text", "") for e in stored] == [
            o.text for o in expected.outputs if hasattr(o, "text")
        ]
        assert (await stored_state(restarted, chat.id)).mood == "anxious"
    finally:
        await restarted.db.dispose()


async def test_a_quiet_person_gets_one_check_in_when_it_is_due(svc: Services) -> None:
    chat = await make_session(svc)
    await run_bot(svc, session_id=chat.id, event=SessionEvent(kind="started"))
    await run_bot(svc, session_id=chat.id, event=UserMessage(text="Yes, continue", value="yes"))
    async with svc.read() as session:
        row = await session.get(ChatSession, chat.id)
        assert row is not None and row.checkin_at is not None
        due = row.checkin_at

    early = runtime_for(replace(svc, clock=lambda: due - timedelta(seconds=1)))
    assert await fire_due_timers(early) == 0

    later = replace(svc, clock=lambda: due + timedelta(seconds=1))
    count_before = len(await messages_after(svc, session_id=chat.id))
    # Two processes polling at once: the check-in fires exactly once.
    fired = await asyncio.gather(
        fire_due_timers(runtime_for(later)), fire_due_timers(runtime_for(later))
    )
    assert sum(fired) == 1
    lines = await messages_after(svc, session_id=chat.id)
    new = lines[count_before:]
    assert new and all(line.sender == SenderKind.BOT for line in new)
    assert (await stored_state(svc, chat.id)).checkins_sent == 1


async def test_no_check_in_once_the_session_is_queued(svc: Services) -> None:
    chat = await make_session(svc)
    await run_bot(svc, session_id=chat.id, event=SessionEvent(kind="started"))
    await run_bot(svc, session_id=chat.id, event=UserMessage(text="Yes, continue", value="yes"))
    async with svc.transaction() as tx:
        row = await lock_session(tx, chat.id)
        await escalate(tx, row, priority=Priority.REQUESTED, reason="request:button")
    async with svc.read() as session:
        queued = (
            await session.execute(select(ChatSession).where(ChatSession.id == chat.id))
        ).scalar_one()
        assert queued.checkin_at is None
    lines_before = await messages_after(svc, session_id=chat.id)
    much_later = replace(svc, clock=lambda: svc.clock() + timedelta(days=1))
    await fire_due_timers(runtime_for(much_later))
    lines_after = await messages_after(svc, session_id=chat.id)
    assert not [line for line in lines_after[len(lines_before) :] if line.sender == SenderKind.BOT]


async def test_a_welsh_session_is_answered_in_welsh(svc: Services) -> None:
    chat = await make_session(svc, locale="cy")
    assert chat.locale == "cy"
    english = await make_session(svc, locale="en")
    await run_bot(svc, session_id=chat.id, event=SessionEvent(kind="started"))
    await run_bot(svc, session_id=english.id, event=SessionEvent(kind="started"))
    welsh_text = " ".join(line.text for line in await messages_after(svc, session_id=chat.id))
    english_text = " ".join(line.text for line in await messages_after(svc, session_id=english.id))
    assert welsh_text and welsh_text != english_text


async def test_an_unknown_locale_falls_back_to_english(svc: Services) -> None:
    chat = await make_session(svc, locale="fr")
    assert chat.locale == "en"


async def test_a_crisis_as_the_first_message_queues_at_the_highest_priority(svc: Services) -> None:
    chat = await make_session(svc)
    await run_bot(svc, session_id=chat.id, event=SessionEvent(kind="started"))
    turn = await run_bot(svc, session_id=chat.id, event=UserMessage(text="i want to end my life"))
    texts = " ".join(getattr(e, "text", "") for e in turn.events)
    assert "116 123" in texts and "999" in texts
    async with svc.read() as session:
        row = await session.get(ChatSession, chat.id)
        assert row is not None
        assert (row.state, row.priority) == ("queued", int(Priority.CRISIS))
        assert row.escalation_reason and row.escalation_reason.startswith("crisis")


async def test_a_crisis_stores_its_level_topic_and_the_persons_own_words(svc: Services) -> None:
    chat = await make_session(svc)
    await run_bot(svc, session_id=chat.id, event=SessionEvent(kind="started"))
    await run_bot(svc, session_id=chat.id, event=UserMessage(text="I've taken 40 PARACETAMOL!!"))
    async with svc.read() as session:
        row = await session.get(ChatSession, chat.id)
        assert row is not None
        assert row.state == "queued" and row.risk_level in ("high", "imminent")
        assert row.risk_topic == "suicide"
        assert row.escalation_match and "PARACETAMOL" in row.escalation_match


async def test_a_welsh_crisis_is_recognised_in_an_english_session(svc: Services) -> None:
    chat = await make_session(svc, locale="en")
    await run_bot(svc, session_id=chat.id, event=SessionEvent(kind="started"))
    await run_bot(svc, session_id=chat.id, event=UserMessage(text="dw i eisiau lladd fy hun"))
    async with svc.read() as session:
        row = await session.get(ChatSession, chat.id)
        assert row is not None
        assert (row.state, row.priority) == ("queued", int(Priority.CRISIS))
        assert row.escalation_match == "lladd fy hun"
