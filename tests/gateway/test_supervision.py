"""Stepping in: watch, whisper, join and take over (SQLite and PostgreSQL).

A whisper is a note for the counsellor alone: it never becomes a message and
is published only on the counsellor's staff channel. Joining and taking over
tell the person in plain words. Every step is in the audit log.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway.actions.live_board import live_board
from gateway.actions.messages import NotYourSession, post_counsellor_message
from gateway.actions.notes import notes_for
from gateway.actions.queue import claim_session
from gateway.actions.snapshot import queue_snapshot
from gateway.actions.supervision import (
    SupervisionError,
    has_joined,
    join_chat,
    post_as_supervisor,
    record_watch,
    take_over,
    whisper,
)
from gateway.events import (
    MessageAdded,
    SessionStateChanged,
    Whisper,
    session_channel,
    staff_channel,
)
from gateway.models import AuditEvent, Staff
from gateway.services import Services
from gateway.types import StaffRole
from tests.counsellor_ui.support import assert_gap_free, chat_row, recording, use_quick_setup
from tests.factories import make_queued_session, make_staff

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def live_chat_of(svc: Services, staff: Staff) -> int:
    chat = await make_queued_session(svc)
    assert (await claim_session(svc, session_id=chat.id, staff_id=staff.id)).won
    return chat.id


async def audit(svc: Services) -> list[tuple[int | None, str, int | None]]:
    async with svc.read() as session:
        rows = await session.execute(
            select(AuditEvent).where(AuditEvent.session_id.is_not(None)).order_by(AuditEvent.id)
        )
        return [(a.staff_id, a.action, a.session_id) for a in rows.scalars()]


async def test_a_whisper_is_a_note_for_the_counsellor_and_never_a_message(svc: Services) -> None:
    sam = await make_staff(svc, name="Sam")
    alex = await make_staff(svc, name="Alex", role=StaffRole.SUPERVISOR)
    chat_id = await live_chat_of(svc, sam)
    before = [m.seq for m in await assert_gap_free(svc, chat_id)]

    async with recording(svc, session_channel(chat_id), staff_channel(sam.id)) as seen:
        name = await whisper(svc, session_id=chat_id, staff=alex, text="  Ask about sleep.  ")

    assert name == "Sam"
    assert [m.seq for m in await assert_gap_free(svc, chat_id)] == before  # no seq used
    assert [c for c, _ in seen.events] == [staff_channel(sam.id)]
    (_, event), *_ = seen.events
    assert isinstance(event, Whisper)
    assert (event.to_staff_id, event.from_name, event.text) == (sam.id, "Alex", "Ask about sleep.")
    notes = await notes_for(svc, session_id=chat_id)
    assert [(n.kind, n.author, n.text) for n in notes] == [("whisper", "Alex", "Ask about sleep.")]
    assert await audit(svc) == [(sam.id, "claim", chat_id), (alex.id, "whisper", chat_id)]


async def test_only_supervisors_step_in_and_only_into_a_live_chat(svc: Services) -> None:
    sam = await make_staff(svc, name="Sam")
    jo = await make_staff(svc, name="Jo")
    alex = await make_staff(svc, name="Alex", role=StaffRole.ADMIN)
    chat_id = await live_chat_of(svc, sam)
    waiting = await make_queued_session(svc)
    before = len(await assert_gap_free(svc, chat_id))

    for step in (record_watch, join_chat, take_over):
        with pytest.raises(PermissionError):
            await step(svc, session_id=chat_id, staff=jo)
    with pytest.raises(PermissionError):
        await whisper(svc, session_id=chat_id, staff=jo, text="hello")
    with pytest.raises(SupervisionError, match="no longer live"):
        await whisper(svc, session_id=waiting.id, staff=alex, text="hello")
    with pytest.raises(SupervisionError, match="empty"):
        await whisper(svc, session_id=chat_id, staff=alex, text="   ")
    with pytest.raises(NotYourSession):
        await post_as_supervisor(svc, session_id=chat_id, staff=alex, client_id="a1", text="Hi")
    assert await audit(svc) == [(sam.id, "claim", chat_id)]
    assert len(await assert_gap_free(svc, chat_id)) == before


async def test_joining_tells_the_person_and_lets_the_supervisor_write(svc: Services) -> None:
    sam = await make_staff(svc, name="Sam")
    alex = await make_staff(svc, name="Alex", role=StaffRole.SUPERVISOR)
    chat_id = await live_chat_of(svc, sam)
    await record_watch(svc, session_id=chat_id, staff=alex)

    async with recording(svc, session_channel(chat_id)) as seen:
        await join_chat(svc, session_id=chat_id, staff=alex)
        await join_chat(svc, session_id=chat_id, staff=alex)  # a second press: told once
    told = [e.text for _, e in seen.events if isinstance(e, MessageAdded)]
    assert told == ["Alex, a supervisor, has joined the chat to help."]
    assert await has_joined(svc, session_id=chat_id, staff=alex)

    seq = await post_as_supervisor(svc, session_id=chat_id, staff=alex, client_id="c1", text="Hi")
    again = await post_as_supervisor(svc, session_id=chat_id, staff=alex, client_id="c1", text="Hi")
    assert seq == again
    # The counsellor stays and still writes.
    await post_counsellor_message(svc, session_id=chat_id, staff=sam, client_id="s1", text="Yes")
    lines = await assert_gap_free(svc, chat_id)
    assert [(m.sender, m.counsellor_id, m.text) for m in lines][-2:] == [
        ("counsellor", alex.id, "Hi"),
        ("counsellor", sam.id, "Yes"),
    ]
    assert (await chat_row(svc, chat_id)).counsellor_id == sam.id
    assert await audit(svc) == [
        (sam.id, "claim", chat_id),
        (alex.id, "watch", chat_id),
        (alex.id, "join", chat_id),
    ]


async def test_taking_over_moves_the_chat_and_says_so_in_plain_words(svc: Services) -> None:
    sam = await make_staff(svc, name="Sam")
    alex = await make_staff(svc, name="Alex", role=StaffRole.SUPERVISOR)
    chat_id = await live_chat_of(svc, sam)

    async with recording(svc, session_channel(chat_id)) as seen:
        result = await take_over(svc, session_id=chat_id, staff=alex)

    assert result.from_name == "Sam"
    events = [e for _, e in seen.events]
    assert isinstance(events[0], MessageAdded)
    assert events[0].text == "Alex, a supervisor, is taking over from Sam."
    assert isinstance(events[1], SessionStateChanged)
    assert (events[1].state, events[1].counsellor_id) == ("live", alex.id)
    assert (await chat_row(svc, chat_id)).counsellor_id == alex.id
    # Sam can no longer write; Alex writes as the chat's counsellor.
    with pytest.raises(NotYourSession):
        await post_counsellor_message(svc, session_id=chat_id, staff=sam, client_id="s", text="x")
    await post_counsellor_message(svc, session_id=chat_id, staff=alex, client_id="a", text="Hi")
    with pytest.raises(SupervisionError, match="already yours"):
        await take_over(svc, session_id=chat_id, staff=alex)
    assert await audit(svc) == [(sam.id, "claim", chat_id), (alex.id, "take_over", chat_id)]


async def test_the_live_board_shows_waits_chats_and_who_is_on(svc: Services) -> None:
    sam = await make_staff(svc, name="Sam")
    chat_id = await live_chat_of(svc, sam)
    waiting = await make_queued_session(svc)
    await post_counsellor_message(svc, session_id=chat_id, staff=sam, client_id="s", text="Hello")

    board = await live_board(svc, await queue_snapshot(svc))

    assert [r.session_id for r in board.waiting] == [waiting.id]
    (chat,) = board.chats
    assert (chat.session_id, chat.counsellor) == (chat_id, "Sam")
    assert chat.counsellor_quiet_s is not None and chat.person_quiet_s is None
    assert chat.awaiting_reply_s is None and not chat.overdue
    assert board.longest_wait_s is not None
