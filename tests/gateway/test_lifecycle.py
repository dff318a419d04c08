"""Every transition of a session's life as an action, on SQLite and PostgreSQL.

Each test checks the new state, what the person is told (system messages),
the events published after commit (against their strict schemas), and that
the transcript stays gap-free.
"""

from __future__ import annotations

import pytest

from bot_engine import Priority as BotPriority
from bot_engine import RiskLevel, TriggerMatch
from gateway.actions.handover import accept_transfer, hand_back_to_bot, offer_transfer
from gateway.actions.messages import NotYourSession, post_counsellor_message
from gateway.actions.queue import (
    claim_session,
    ordered_queue,
    raise_risk,
    release_session,
)
from gateway.actions.sessions import leave_session
from gateway.actions.wrapup import (
    WrapUpError,
    check_wrapup,
    end_session,
    wrapup_of,
    wrapups_due,
)
from gateway.events import (
    QUEUE_CHANNEL,
    ChatTransferred,
    QueueChanged,
    SessionStateChanged,
    TransferOffer,
    session_channel,
    staff_channel,
)
from gateway.services import Services
from gateway.types import Priority, SenderKind, SessionState, StaffRole
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


def system_lines(lines: list[object]) -> list[str]:
    return [m.text for m in lines if m.sender == SenderKind.SYSTEM.value]  # type: ignore[attr-defined]


async def test_claim_then_release_puts_the_person_first_and_tells_them(svc: Services) -> None:
    first = await make_queued_session(svc)
    second = await make_queued_session(svc)
    sam = await make_staff(svc, name="Sam")
    async with recording(svc, session_channel(first.id), QUEUE_CHANNEL) as events:
        assert (await claim_session(svc, session_id=first.id, staff_id=sam.id)).won
        assert await release_session(svc, session_id=first.id, staff_id=sam.id)
        # Releasing twice, or someone else's chat, changes nothing.
        assert not await release_session(svc, session_id=first.id, staff_id=sam.id)
    states = [e.state for e in events.of(SessionStateChanged)]
    assert states == ["live", "queued"]
    assert [e.reason for e in events.of(QueueChanged)] == ["claimed", "released"]
    chat = await chat_row(svc, first.id)
    assert (chat.state, chat.counsellor_id, chat.queue_front) == ("queued", None, True)
    assert [c.id for c in await ordered_queue(svc)] == [first.id, second.id]
    said = system_lines(await assert_gap_free(svc, first.id))
    assert said[0] == "Sam has joined the chat."
    assert "front of the queue" in said[1]


async def test_transfer_passes_the_chat_with_a_note_and_tells_everyone(svc: Services) -> None:
    chat = await make_queued_session(svc)
    sam = await make_staff(svc, name="Sam")
    jo = await make_staff(svc, name="Jo")
    await claim_session(svc, session_id=chat.id, staff_id=sam.id)
    refused = await offer_transfer(
        svc, session_id=chat.id, from_staff=sam, to_staff_id=jo.id, note="  "
    )
    assert (refused.ok, refused.reason) == (False, "note_required")
    offered = await offer_transfer(
        svc, session_id=chat.id, from_staff=sam, to_staff_id=jo.id, note="Exam stress."
    )
    assert offered.ok and offered.to_name == "Jo"
    channels = (session_channel(chat.id), staff_channel(jo.id), QUEUE_CHANNEL)
    async with recording(svc, *channels) as events:
        result = await accept_transfer(svc, session_id=chat.id, staff=jo)
    assert result.ok and (result.to_name, result.from_name) == ("Jo", "Sam")
    (handed,) = events.of(ChatTransferred)
    assert (handed.to_staff_id, handed.from_name) == (jo.id, "Sam")
    (answered,) = events.of(TransferOffer)
    assert (answered.status, answered.to_name, answered.from_name) == ("accepted", "Jo", "Sam")
    assert events.on(staff_channel(jo.id)) == [answered, handed]
    (state,) = events.of(SessionStateChanged)
    assert (state.state, state.counsellor_id, state.counsellor_name) == ("live", jo.id, "Jo")
    assert (await chat_row(svc, chat.id)).counsellor_id == jo.id
    said = system_lines(await assert_gap_free(svc, chat.id))
    assert "passed to another counsellor, Jo" in said[-2]
    assert said[-1] == "Jo has joined the chat."
    # Sam can no longer write to it; Jo can.
    with pytest.raises(NotYourSession):
        await post_counsellor_message(
            svc, session_id=chat.id, staff=sam, client_id="late", text="still here?"
        )
    await post_counsellor_message(svc, session_id=chat.id, staff=jo, client_id="j1", text="Hi")
    again = await offer_transfer(
        svc, session_id=chat.id, from_staff=sam, to_staff_id=jo.id, note="x"
    )
    assert again.reason == "not_yours"


async def test_transfer_respects_capacity_presence_and_supervisors(svc: Services) -> None:
    sam = await make_staff(svc, name="Sam")
    full = await make_staff(svc, name="Full")
    away = await make_staff(svc, name="Gone", available=False)
    lead = await make_staff(svc, name="Lead", role=StaffRole.SUPERVISOR)
    for _ in range(svc.settings.counsellor_max_chats):
        held = await make_queued_session(svc)
        await claim_session(svc, session_id=held.id, staff_id=full.id)
        lead_held = await make_queued_session(svc)
        await claim_session(svc, session_id=lead_held.id, staff_id=lead.id)
    chat = await make_queued_session(svc)
    await claim_session(svc, session_id=chat.id, staff_id=sam.id)

    async def to(staff_id: int) -> str:
        result = await offer_transfer(
            svc, session_id=chat.id, from_staff=sam, to_staff_id=staff_id, note="note"
        )
        return "ok" if result.ok else result.reason

    assert await to(sam.id) == "yourself"
    assert await to(full.id) == "at_capacity"
    assert await to(away.id) == "offline"  # never opened the workspace
    assert await to(999_999) == "no_such_colleague"
    # A supervisor takes an escalation whatever they already hold.
    assert await to(lead.id) == "ok"


async def test_hand_back_to_the_bot_and_the_bot_greets_again(svc: Services) -> None:
    chat = await make_queued_session(svc)
    sam = await make_staff(svc, name="Sam")
    await claim_session(svc, session_id=chat.id, staff_id=sam.id)
    async with recording(svc, session_channel(chat.id), QUEUE_CHANNEL) as events:
        turn = await hand_back_to_bot(svc, session_id=chat.id, staff=sam)
    assert turn is not None and turn.spoke  # the greeting, stored in the same unit of work
    assert [e.state for e in events.of(SessionStateChanged)] == ["bot"]
    assert [e.reason for e in events.of(QueueChanged)] == ["handed_back"]
    row = await chat_row(svc, chat.id)
    assert (row.state, row.counsellor_id) == ("bot", None)
    lines = await assert_gap_free(svc, chat.id)
    assert "passed you back" in system_lines(lines)[-1]
    assert lines[-1].sender == SenderKind.BOT.value
    assert not await hand_back_to_bot(svc, session_id=chat.id, staff=sam)


async def test_end_needs_a_complete_wrap_up_and_then_closes_the_chat(svc: Services) -> None:
    chat = await make_queued_session(svc)
    sam = await make_staff(svc, name="Sam")
    jo = await make_staff(svc, name="Jo")
    await claim_session(svc, session_id=chat.id, staff_id=sam.id)
    outcome = svc.settings.wrapup_outcomes[0]
    with pytest.raises(WrapUpError, match="outcome"):
        check_wrapup(svc, outcomes=["made up"], risk_level="low", notes="")
    with pytest.raises(WrapUpError, match="risk"):
        check_wrapup(svc, outcomes=[outcome], risk_level="", notes="")
    form = check_wrapup(svc, outcomes=[outcome], risk_level="medium", notes="  Talked it through. ")
    assert form.notes == "Talked it through."
    not_mine = await end_session(svc, session_id=chat.id, staff_id=jo.id, wrap_up=form)
    assert (not_mine.done, not_mine.outcome) == (False, "not_yours")
    async with recording(svc, session_channel(chat.id), QUEUE_CHANNEL) as events:
        ended = await end_session(svc, session_id=chat.id, staff_id=sam.id, wrap_up=form)
    assert (ended.done, ended.outcome) == (True, "ended")
    assert [e.state for e in events.of(SessionStateChanged)] == ["closed"]
    row = await chat_row(svc, chat.id)
    assert row.state == SessionState.CLOSED and row.closed_at is not None
    saved = await wrapup_of(svc, session_id=chat.id)
    assert saved is not None and ([o.outcome for o in saved.outcomes], saved.risk_level) == (
        [outcome],
        "medium",
    )
    assert "ended the chat" in system_lines(await assert_gap_free(svc, chat.id))[-1]
    twice = await end_session(svc, session_id=chat.id, staff_id=sam.id, wrap_up=form)
    assert twice.outcome == "already"


async def test_a_person_who_leaves_a_live_chat_leaves_a_wrap_up_to_do(svc: Services) -> None:
    chat = await make_queued_session(svc)
    sam = await make_staff(svc, name="Sam")
    await claim_session(svc, session_id=chat.id, staff_id=sam.id)
    assert (await leave_session(svc, session_id=chat.id)).state == SessionState.CLOSED
    # The transcript ends with what the person was told (it says they ended the chat).
    assert "You've ended the chat" in system_lines(await assert_gap_free(svc, chat.id))[-1]
    (due,) = await wrapups_due(svc, staff_id=sam.id)
    assert due.session_id == chat.id
    form = check_wrapup(
        svc, outcomes=svc.settings.wrapup_outcomes[-1:], risk_level="none", notes=""
    )
    recorded = await end_session(svc, session_id=chat.id, staff_id=sam.id, wrap_up=form)
    assert (recorded.done, recorded.outcome) == (True, "recorded")
    assert await wrapups_due(svc, staff_id=sam.id) == []


async def test_a_person_who_leaves_the_queue_is_abandoned(svc: Services) -> None:
    chat = await make_queued_session(svc)
    async with recording(svc, QUEUE_CHANNEL) as events:
        assert (await leave_session(svc, session_id=chat.id)).state == SessionState.ABANDONED
    assert [e.reason for e in events.of(QueueChanged)] == ["left"]
    assert await ordered_queue(svc) == []


async def test_a_crisis_while_waiting_raises_priority_and_the_clock_ages_others(
    svc: Services,
) -> None:
    clock = Clock()
    svc.clock = clock
    other = await make_queued_session(svc, priority=Priority.OTHER, reason="request:typed")
    clock.advance(10)
    later = await make_queued_session(svc, priority=Priority.REQUESTED)
    assert [c.id for c in await ordered_queue(svc)] == [later.id, other.id]
    clock.advance(svc.settings.queue_ageing_s + 1)
    assert [c.id for c in await ordered_queue(svc)] == [other.id, later.id]
    found = TriggerMatch("crisis", BotPriority.CRISIS, "crisis:suicide", "x", RiskLevel.CONCERN)
    assert await raise_risk(svc, session_id=later.id, match=found)
    assert [c.id for c in await ordered_queue(svc)] == [later.id, other.id]
    assert (await chat_row(svc, later.id)).priority == Priority.CRISIS


async def test_a_waiting_sessions_risk_level_only_goes_up(svc: Services) -> None:
    waiting = await make_queued_session(svc, priority=Priority.REQUESTED)
    concern = TriggerMatch(
        "crisis", BotPriority.CRISIS, "crisis:self_harm", "scratched", RiskLevel.CONCERN
    )
    imminent = TriggerMatch(
        "crisis", BotPriority.CRISIS, "crisis:acting_now", "took them all", RiskLevel.IMMINENT
    )
    assert await raise_risk(svc, session_id=waiting.id, match=concern)
    row = await chat_row(svc, waiting.id)
    assert (row.priority, row.risk_level, row.escalation_match) == (
        Priority.CRISIS,
        "concern",
        "scratched",
    )
    assert await raise_risk(svc, session_id=waiting.id, match=imminent)
    assert (await chat_row(svc, waiting.id)).risk_level == "imminent"
    # A later, milder message never lowers the level, nor replaces the evidence.
    assert not await raise_risk(svc, session_id=waiting.id, match=concern)
    row = await chat_row(svc, waiting.id)
    assert (row.risk_level, row.escalation_match) == ("imminent", "took them all")
