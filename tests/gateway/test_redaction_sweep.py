"""HAVEN_REDACT: contact details masked in what is kept once a chat closes.

On SQLite and PostgreSQL: the sweep masks the person's and the counsellor's words,
notes and the quoted trigger, leaves the bot's helpline numbers readable, sets
``redacted_at`` and writes an audit line; a live chat keeps its original; what is
written about a closed chat is stored masked; pages mask closed chats before the
sweep reaches them; and notes after an erase follow HAVEN_ERASE_STAFF_RECORDS.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from gateway.actions.audit import REDACT
from gateway.actions.messages import messages_after, post_counsellor_message, post_user_message
from gateway.actions.notes import NoteError, add_note, notes_for
from gateway.actions.queue import claim_session
from gateway.actions.ratings import rate_session
from gateway.actions.records import append_message, lock_session
from gateway.actions.redact_sweep import as_shown, redact_closed
from gateway.actions.sessions import erase_session
from gateway.actions.workspace import chat_for_staff
from gateway.actions.wrapup import check_wrapup, end_session, wrapup_of
from gateway.models import AuditEvent, ChatSession, Rating, Staff
from gateway.redaction import EMAIL_MASK, PHONE_MASK, POSTCODE_MASK
from gateway.services import Services
from gateway.types import SenderKind
from tests.factories import make_queued_session, make_staff

asynchronous = pytest.mark.asyncio
PERSON = "I'm at B33 8TH, call me on 07700 900123 or jo@example.org"
PERSON_MASKED = f"I'm at {POSTCODE_MASK}, call me on {PHONE_MASK} or {EMAIL_MASK}"
BOT = "Samaritans are free on 116 123, or call 0800 1111 for Childline."


async def live_chat(svc: Services) -> tuple[int, Staff]:
    chat = await make_queued_session(svc)
    async with svc.transaction() as tx:
        row = await lock_session(tx, chat.id)
        await append_message(tx, row, sender=SenderKind.BOT, text=BOT)
        row.escalation_match = "ring 07700 900123"
    sam = await make_staff(svc, name="Sam")
    await post_user_message(svc, session_id=chat.id, client_id="p1", text=PERSON)
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).won
    await post_counsellor_message(
        svc, session_id=chat.id, staff=sam, client_id="c1", text="Is 07700 900123 safe to call?"
    )
    await add_note(svc, session_id=chat.id, staff=sam, text="Lives at B33 8TH")
    return chat.id, sam


async def end(svc: Services, session_id: int, staff: Staff, notes: str) -> None:
    form = check_wrapup(
        svc, outcomes=[svc.settings.wrapup_outcomes[0]], risk_level="low", notes=notes
    )
    assert (await end_session(svc, session_id=session_id, staff_id=staff.id, wrap_up=form)).done


async def texts(svc: Services, session_id: int) -> dict[str, str]:
    return {
        f"{line.sender.value}{line.seq}": line.text
        for line in await messages_after(svc, session_id=session_id)
    }


@asynchronous
async def test_a_live_chat_keeps_the_original_and_a_closed_one_is_masked(svc: Services) -> None:
    session_id, sam = await live_chat(svc)
    assert await redact_closed(svc) == 0  # live: counsellors see what was written
    lines = await texts(svc, session_id)
    assert PERSON in lines.values()

    await end(svc, session_id, sam, notes="Gave her 0800 1111; she is at jo@example.org")
    assert await redact_closed(svc) == 1
    by_sender = {
        line.sender: line.text for line in await messages_after(svc, session_id=session_id)
    }
    assert by_sender[SenderKind.USER] == PERSON_MASKED
    assert by_sender[SenderKind.COUNSELLOR] == f"Is {PHONE_MASK} safe to call?"
    assert BOT in (await texts(svc, session_id)).values()  # the bot's numbers stay readable
    assert [n.text for n in await notes_for(svc, session_id=session_id)] == [
        f"Lives at {POSTCODE_MASK}"
    ]
    wrap = await wrapup_of(svc, session_id=session_id)
    assert wrap is not None and wrap.notes == f"Gave her {PHONE_MASK}; she is at {EMAIL_MASK}"
    async with svc.read() as session:
        chat = await session.get(ChatSession, session_id)
        lines = list(
            (await session.execute(select(AuditEvent).where(AuditEvent.action == REDACT))).scalars()
        )
    assert chat is not None and chat.redacted_at is not None
    assert chat.escalation_match == f"ring {PHONE_MASK}"
    assert len(lines) == 1 and lines[0].detail == "1 closed conversations swept, 4 texts masked"
    # Swept once: nothing more to do, no second line.
    assert await redact_closed(svc) == 0


@asynchronous
async def test_pages_mask_a_closed_chat_before_the_sweep_reaches_it(svc: Services) -> None:
    session_id, sam = await live_chat(svc)
    chat = await chat_for_staff(svc, session_id=session_id)
    assert chat is not None
    lines = await messages_after(svc, session_id=session_id)
    notes = await notes_for(svc, session_id=session_id)
    shown, shown_notes = as_shown(svc, chat, lines, notes)
    assert PERSON in [line.text for line in shown]  # live: the original

    await end(svc, session_id, sam, notes="")
    closed = await chat_for_staff(svc, session_id=session_id)
    assert closed is not None and closed.redacted_at is None
    shown, shown_notes = as_shown(
        svc, closed, await messages_after(svc, session_id=session_id), notes
    )
    assert PERSON_MASKED in [line.text for line in shown]
    assert BOT in [line.text for line in shown]
    assert [n.text for n in shown_notes] == [f"Lives at {POSTCODE_MASK}"]


@asynchronous
async def test_a_note_on_a_closed_chat_and_a_rating_are_stored_masked(svc: Services) -> None:
    session_id, sam = await live_chat(svc)
    await end(svc, session_id, sam, notes="")
    assert await redact_closed(svc) == 1
    await add_note(svc, session_id=session_id, staff=sam, text="Her mum's number: 07700 900456")
    await rate_session(svc, session_id=session_id, score=5, comment="Text me on 07700 900789")
    notes = [n.text for n in await notes_for(svc, session_id=session_id)]
    assert notes[-1] == f"Her mum's number: {PHONE_MASK}"
    async with svc.read() as session:
        rating = (await session.execute(select(Rating))).scalar_one()
    assert rating.comment == f"Text me on {PHONE_MASK}"


@asynchronous
async def test_with_redaction_off_nothing_is_masked(svc: Services) -> None:
    svc.settings = replace(svc.settings, redact=False)
    session_id, sam = await live_chat(svc)
    await end(svc, session_id, sam, notes="call 07700 900123")
    assert await redact_closed(svc) == 0
    assert PERSON in (await texts(svc, session_id)).values()
    wrap = await wrapup_of(svc, session_id=session_id)
    assert wrap is not None and wrap.notes == "call 07700 900123"


@asynchronous
@pytest.mark.parametrize("policy", ["outcomes", "keep", "all"])
async def test_a_note_written_after_the_person_erased_follows_the_policy(
    svc: Services, policy: str
) -> None:
    svc.settings = replace(svc.settings, erase_staff_records=policy)
    session_id, sam = await live_chat(svc)
    await erase_session(svc, session_id=session_id)
    if policy == "keep":
        await add_note(svc, session_id=session_id, staff=sam, text="She erased; follow up")
        assert "She erased; follow up" in [
            n.text for n in await notes_for(svc, session_id=session_id)
        ]
        return
    with pytest.raises(NoteError, match="deleted this conversation"):
        await add_note(svc, session_id=session_id, staff=sam, text="She said her name is Alex")
    assert await notes_for(svc, session_id=session_id) == []
