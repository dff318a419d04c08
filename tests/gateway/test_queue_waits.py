"""The queue-wait log: a row for every wait, opened and closed with the state change."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot_engine import Priority as BotPriority
from bot_engine import RiskLevel, TriggerMatch
from gateway.actions.queue import claim_session, raise_risk, release_session
from gateway.actions.sessions import erase_session, leave_session
from gateway.actions.signin import sign_out, start_staff_session
from gateway.actions.staff import set_presence
from gateway.actions.timers import abandon_waiting, return_dropped_chat
from gateway.actions.waits import (
    CAUSE_DROPPED,
    CAUSE_ESCALATED,
    CAUSE_RELEASED,
    CAUSE_REQUEUED,
    OUTCOME_ABANDONED,
    OUTCOME_CLAIMED,
    OUTCOME_ERASED,
    OUTCOME_LEFT,
    wait_class,
)
from gateway.models import QueueWait
from gateway.services import Services
from gateway.types import Priority
from tests.counsellor_ui.support import Clock, use_quick_setup
from tests.factories import make_queued_session, make_staff

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def waits_of(svc: Services, session_id: int) -> list[QueueWait]:
    async with svc.read() as session:
        rows = await session.execute(
            select(QueueWait).where(QueueWait.session_id == session_id).order_by(QueueWait.id)
        )
        return list(rows.scalars())


async def test_a_requeued_session_has_a_row_for_each_wait(svc: Services) -> None:
    clock = Clock()
    svc.clock = clock
    start = clock.now
    chat = await make_queued_session(svc)
    sam = await make_staff(svc, name="Sam")
    kim = await make_staff(svc, name="Kim")
    clock.advance(40)
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).won
    clock.advance(300)
    assert await release_session(svc, session_id=chat.id, staff_id=sam.id)
    released = clock.now
    clock.advance(15)
    assert (await claim_session(svc, session_id=chat.id, staff_id=kim.id)).won

    first, second = await waits_of(svc, chat.id)
    assert (first.cause, first.outcome, first.staff_id) == (
        CAUSE_ESCALATED,
        OUTCOME_CLAIMED,
        sam.id,
    )
    assert first.entered_at == start
    assert (first.ended_at - first.entered_at).total_seconds() == 40
    assert (first.priority, first.risk_level) == (Priority.REQUESTED, "none")
    assert (second.cause, second.outcome, second.staff_id) == (
        CAUSE_RELEASED,
        OUTCOME_CLAIMED,
        kim.id,
    )
    assert second.entered_at == released
    assert (second.ended_at - second.entered_at).total_seconds() == 15


async def test_a_raise_while_waiting_lifts_the_open_wait_and_never_lowers_it(svc: Services) -> None:
    chat = await make_queued_session(svc, priority=Priority.REQUESTED)
    imminent = TriggerMatch(
        "crisis", BotPriority.CRISIS, "crisis:acting_now", "took them all", RiskLevel.IMMINENT
    )
    concern = TriggerMatch(
        "crisis", BotPriority.CRISIS, "crisis:self_harm", "cut", RiskLevel.CONCERN
    )
    assert await raise_risk(svc, session_id=chat.id, match=imminent)
    assert not await raise_risk(svc, session_id=chat.id, match=concern)
    (wait,) = await waits_of(svc, chat.id)
    assert (wait.priority, wait.risk_level, wait.ended_at) == (Priority.CRISIS, "imminent", None)
    assert wait_class(wait.priority, wait.risk_level) == "imminent"


async def test_how_a_wait_ends_when_nobody_claims_it(svc: Services) -> None:
    clock = Clock()
    svc.clock = clock
    left = await make_queued_session(svc)
    erased = await make_queued_session(svc)
    gone = await make_queued_session(svc)
    seen = clock.now
    clock.advance(svc.settings.queue_abandon_s + 5)
    await leave_session(svc, session_id=left.id)
    await erase_session(svc, session_id=erased.id)
    assert await abandon_waiting(svc, session_id=gone.id)

    (w_left,) = await waits_of(svc, left.id)
    (w_erased,) = await waits_of(svc, erased.id)
    (w_gone,) = await waits_of(svc, gone.id)
    assert (w_left.outcome, w_left.ended_at, w_left.staff_id) == (OUTCOME_LEFT, clock.now, None)
    assert (w_erased.outcome, w_erased.ended_at) == (OUTCOME_ERASED, clock.now)
    # Abandoned: the wait ended when the person was last seen, not when the timer fired.
    assert (w_gone.outcome, w_gone.ended_at) == (OUTCOME_ABANDONED, seen)


async def test_a_dropped_or_signed_out_counsellor_starts_a_new_wait(svc: Services) -> None:
    clock = Clock()
    svc.clock = clock
    dropped = await make_queued_session(svc)
    signed = await make_queued_session(svc)
    sam = await make_staff(svc, name="Sam")
    kim = await make_staff(svc, name="Kim")
    assert (await claim_session(svc, session_id=dropped.id, staff_id=sam.id)).won
    assert (await claim_session(svc, session_id=signed.id, staff_id=kim.id)).won
    cookie, _csrf = await start_staff_session(svc, staff_id=kim.id)
    await sign_out(svc, session_id=cookie)
    clock.advance(svc.settings.counsellor_grace_s + 1)
    await set_presence(svc, staff_id=kim.id)
    assert await return_dropped_chat(svc, session_id=dropped.id)

    assert [(w.cause, w.outcome) for w in await waits_of(svc, dropped.id)] == [
        (CAUSE_ESCALATED, OUTCOME_CLAIMED),
        (CAUSE_DROPPED, None),
    ]
    assert [(w.cause, w.outcome) for w in await waits_of(svc, signed.id)] == [
        (CAUSE_ESCALATED, OUTCOME_CLAIMED),
        (CAUSE_REQUEUED, None),
    ]
