"""Timers in the database: a dropped counsellor's grace, abandonment, once and after restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from gateway.actions.presence import mark_present
from gateway.actions.queue import claim_session, ordered_queue
from gateway.actions.staff import set_presence
from gateway.actions.timers import (
    abandon_waiting,
    due_abandoned,
    due_dropped_chats,
    return_dropped_chat,
)
from gateway.broker import MemoryBroker
from gateway.db import Database
from gateway.delivery import BotDelivery
from gateway.events import QUEUE_CHANNEL, QueueChanged, SessionStateChanged, session_channel
from gateway.live.hub import LiveHub
from gateway.ratelimit import ConnectionCounter
from gateway.runtime import Runtime
from gateway.scheduler import fire_due_timers
from gateway.services import Services
from gateway.types import SenderKind
from tests.counsellor_ui.support import (
    Clock,
    assert_gap_free,
    chat_row,
    recording,
    use_quick_setup,
)
from tests.factories import make_queued_session, make_staff

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


@asynccontextmanager
async def restarted(svc: Services) -> AsyncIterator[Runtime]:
    """A new process on the same database: nothing carried over in memory."""
    fresh = Services(
        settings=svc.settings,
        db=Database(svc.settings.effective_database_url),
        broker=MemoryBroker(),
        bot=svc.bot,
        clock=svc.clock,
    )
    runtime = Runtime(fresh, BotDelivery(fresh.broker), ConnectionCounter(20), LiveHub(fresh))
    try:
        yield runtime
    finally:
        await runtime.delivery.close()
        await fresh.db.dispose()


async def test_a_dropped_counsellor_has_a_grace_period_then_the_chat_goes_back_first(
    svc: Services,
) -> None:
    clock = Clock()
    svc.clock = clock
    waiting = await make_queued_session(svc)
    chat = await make_queued_session(svc)
    sam = await make_staff(svc, name="Sam")
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).won
    grace = svc.settings.counsellor_grace_s

    # Within the grace period, and whenever the workspace comes back, nothing happens.
    clock.advance(grace - 1)
    assert await due_dropped_chats(svc) == []
    await set_presence(svc, staff_id=sam.id)  # the workspace reconnected: a heartbeat
    clock.advance(grace - 1)
    assert await due_dropped_chats(svc) == []

    clock.advance(2)
    assert await due_dropped_chats(svc) == [chat.id]
    async with recording(svc, session_channel(chat.id), QUEUE_CHANNEL) as events:
        fired = await asyncio.gather(
            *(return_dropped_chat(svc, session_id=chat.id) for _ in range(3))
        )
    assert sorted(fired) == [False, False, True]  # once, however many try at once
    assert [e.state for e in events.of(SessionStateChanged)] == ["queued"]
    assert [e.reason for e in events.of(QueueChanged)] == ["dropped"]
    row = await chat_row(svc, chat.id)
    assert (row.state, row.counsellor_id, row.queue_front) == ("queued", None, True)
    assert [c.id for c in await ordered_queue(svc)] == [chat.id, waiting.id]
    lines = await assert_gap_free(svc, chat.id)
    assert lines[-1].sender == SenderKind.SYSTEM.value
    assert "connection has dropped" in lines[-1].text


async def test_a_queued_person_who_has_gone_is_abandoned_once(svc: Services) -> None:
    clock = Clock()
    svc.clock = clock
    gone = await make_queued_session(svc)
    here = await make_queued_session(svc)
    abandon = svc.settings.queue_abandon_s
    clock.advance(abandon - 1)
    await mark_present(svc, session_ids=[here.id], staff_ids=[])  # the hub, for an open widget
    assert await due_abandoned(svc) == []
    clock.advance(2)
    assert await due_abandoned(svc) == [gone.id]
    fired = await asyncio.gather(*(abandon_waiting(svc, session_id=gone.id) for _ in range(3)))
    assert sorted(fired) == [False, False, True]
    row = await chat_row(svc, gone.id)
    assert row.state == "abandoned" and row.closed_at == clock.now
    ended = (await assert_gap_free(svc, gone.id))[-1].text
    assert "You were away" in ended and "116 123" in ended  # every ending: the helplines
    assert [c.id for c in await ordered_queue(svc)] == [here.id]


async def test_timers_survive_a_restart_and_fire_in_one_process_only(svc: Services) -> None:
    clock = Clock()
    svc.clock = clock
    chat = await make_queued_session(svc)
    lost = await make_queued_session(svc)
    sam = await make_staff(svc, name="Sam")
    await claim_session(svc, session_id=chat.id, staff_id=sam.id)
    # Every process goes down; when they come back the deadlines have passed.
    clock.advance(max(svc.settings.counsellor_grace_s, svc.settings.queue_abandon_s) + 1)
    async with restarted(svc) as one, restarted(svc) as two:
        counts = await asyncio.gather(fire_due_timers(one), fire_due_timers(two))
        assert sum(counts) == 3  # the dropped chat, and both queued sessions abandoned
        assert await fire_due_timers(one) == 0
    # The chat went back to the queue, and as its person was gone too, it was then
    # abandoned: the process that returned it looks for abandoned sessions afterwards.
    assert (await chat_row(svc, chat.id)).state == "abandoned"
    assert (await chat_row(svc, lost.id)).state == "abandoned"
    await assert_gap_free(svc, chat.id)
