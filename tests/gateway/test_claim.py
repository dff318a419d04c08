"""Claims: exactly one winner under concurrency, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import select

from gateway.actions.queue import claim_session, release_session, take_next
from gateway.models import ChatSession
from gateway.services import Services
from gateway.types import SessionState
from tests.factories import make_queued_session, make_staff

pytestmark = pytest.mark.asyncio


async def test_two_counsellors_claiming_at_once_leave_one_owner(svc: Services) -> None:
    chat = await make_queued_session(svc)
    sam = await make_staff(svc, name="Sam")
    jo = await make_staff(svc, name="Jo")
    results = await asyncio.gather(
        claim_session(svc, session_id=chat.id, staff_id=sam.id),
        claim_session(svc, session_id=chat.id, staff_id=jo.id),
    )
    winners = [r for r in results if r.won]
    losers = [r for r in results if not r.won]
    assert len(winners) == 1 and len(losers) == 1
    assert losers[0].reason == "taken"
    assert losers[0].owner_name == winners[0].owner_name


async def test_many_claims_at_many_sessions_give_each_session_one_owner(svc: Services) -> None:
    sessions = [await make_queued_session(svc) for _ in range(6)]
    staff = [await make_staff(svc) for _ in range(4)]
    attempts = [claim_session(svc, session_id=s.id, staff_id=c.id) for s in sessions for c in staff]
    results = await asyncio.gather(*attempts)
    wins = Counter(r.session_id for r in results if r.won)
    async with svc.read() as session:
        rows = list((await session.execute(select(ChatSession))).scalars())
    owned = [r for r in rows if r.state == SessionState.LIVE]
    assert all(count == 1 for count in wins.values())
    assert {r.id for r in owned} == set(wins)
    for loser in (r for r in results if not r.won):
        assert loser.reason in {"taken", "at_capacity"}
    per_counsellor = Counter(r.counsellor_id for r in owned)
    assert all(n <= svc.settings.counsellor_max_chats for n in per_counsellor.values())
    # Every session claimed: 4 counsellors x 2 chats >= 6 sessions.
    assert len(owned) == 6


async def test_take_next_takes_the_top_and_release_puts_it_back_first(svc: Services) -> None:
    first = await make_queued_session(svc)
    await make_queued_session(svc)
    sam = await make_staff(svc, name="Sam")
    result = await take_next(svc, staff_id=sam.id)
    assert result is not None and result.won and result.session_id == first.id
    assert await release_session(svc, session_id=first.id, staff_id=sam.id)
    jo = await make_staff(svc, name="Jo")
    again = await take_next(svc, staff_id=jo.id)
    assert again is not None and again.session_id == first.id
