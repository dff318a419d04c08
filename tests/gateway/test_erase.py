"""Erasing a conversation removes what could identify or quote the person."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gateway.actions.messages import post_user_message
from gateway.actions.notes import add_note
from gateway.actions.queue import claim_session
from gateway.actions.sessions import erase_session
from gateway.actions.wrapup import check_wrapup, end_session
from gateway.models import ChatSession, Message, SessionNote, WrapUp
from gateway.services import Services
from tests.factories import make_queued_session, make_staff

pytestmark = pytest.mark.asyncio


async def test_erase_removes_messages_notes_and_wrap_up_notes_but_keeps_categories(
    svc: Services,
) -> None:
    chat = await make_queued_session(svc)
    sam = await make_staff(svc, name="Sam")
    await post_user_message(svc, session_id=chat.id, client_id="c1", text="my name is Alex")
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).won
    await add_note(svc, session_id=chat.id, staff=sam, text="Alex mentioned their school")
    outcome = svc.settings.wrapup_outcomes[0]
    form = check_wrapup(svc, outcomes=[outcome], risk_level="low", notes="Alex felt better")
    assert (await end_session(svc, session_id=chat.id, staff_id=sam.id, wrap_up=form)).done

    await erase_session(svc, session_id=chat.id)

    async with svc.read() as session:
        messages = (
            await session.execute(select(func.count()).where(Message.session_id == chat.id))
        ).scalar_one()
        notes = (
            await session.execute(select(func.count()).where(SessionNote.session_id == chat.id))
        ).scalar_one()
        wrap = (
            await session.execute(select(WrapUp).where(WrapUp.session_id == chat.id))
        ).scalar_one()
        row = await session.get(ChatSession, chat.id)
    assert (messages, notes) == (0, 0)
    assert wrap.notes == ""
    assert ([o.outcome for o in wrap.outcomes], wrap.risk_level) == ([outcome], "low")
    assert row is not None and row.token_hash is None and row.bot_state is None
