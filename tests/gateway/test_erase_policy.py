"""HAVEN_ERASE_STAFF_RECORDS: what a person's erase does to what staff wrote.

Each policy on SQLite and PostgreSQL, for a wrap-up written before the erase
and for one written after it (the person deleted the chat while it was live).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.actions.messages import post_user_message
from gateway.actions.notes import add_note
from gateway.actions.queue import claim_session
from gateway.actions.sessions import erase_session
from gateway.actions.wrapup import check_wrapup, end_session, wrapup_of, wrapups_due
from gateway.models import ChatSession, Message, SessionNote
from gateway.services import Services
from gateway.settings import ERASE_POLICIES, Settings, SettingsError, load_settings
from tests.conftest import make_settings
from tests.factories import make_queued_session, make_staff

asynchronous = pytest.mark.asyncio


@pytest.fixture(params=ERASE_POLICIES)
def settings(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, erase_staff_records=request.param)


async def _counts(svc: Services, session_id: int) -> tuple[int, int]:
    async with svc.read() as session:
        messages = (
            await session.execute(select(func.count()).where(Message.session_id == session_id))
        ).scalar_one()
        notes = (
            await session.execute(select(func.count()).where(SessionNote.session_id == session_id))
        ).scalar_one()
    return messages, notes


async def _live_chat_with_notes(svc: Services) -> tuple[int, int]:
    """A live chat with the person's words and two private notes."""
    chat = await make_queued_session(svc)
    jo = await make_staff(svc, name="Jo")
    await post_user_message(svc, session_id=chat.id, client_id="c1", text="my name is Alex")
    assert (await claim_session(svc, session_id=chat.id, staff_id=jo.id)).won
    await add_note(svc, session_id=chat.id, staff=jo, text="Alex mentioned their school")
    await add_note(svc, session_id=chat.id, staff=jo, text="Exams next week")
    return chat.id, jo.id


@asynchronous
async def test_an_erase_after_the_wrap_up_follows_the_policy(svc: Services) -> None:
    policy = svc.settings.erase_staff_records
    session_id, jo = await _live_chat_with_notes(svc)
    outcomes = list(svc.settings.wrapup_outcomes[:2])
    form = check_wrapup(svc, outcomes=outcomes, risk_level="medium", notes="Alex felt better")
    assert (await end_session(svc, session_id=session_id, staff_id=jo, wrap_up=form)).done

    await erase_session(svc, session_id=session_id)

    messages, notes = await _counts(svc, session_id)
    wrap = await wrapup_of(svc, session_id=session_id)
    assert messages == 0  # the person's words go under every policy
    if policy == "keep":
        assert notes == 2
        assert wrap is not None and wrap.notes == "Alex felt better"
    elif policy == "outcomes":
        assert notes == 0
        assert wrap is not None and wrap.notes == ""
    else:
        assert notes == 0 and wrap is None
    if wrap is not None:
        assert ([o.outcome for o in wrap.outcomes], wrap.risk_level) == (outcomes, "medium")
    async with svc.read() as session:
        row = await session.get(ChatSession, session_id)
    # The anonymous counts stay under every policy: the chat's times and priority.
    assert row is not None and row.token_hash is None and row.claimed_at is not None
    assert row.closed_at is not None


@asynchronous
async def test_a_wrap_up_written_after_the_erase_follows_the_policy(svc: Services) -> None:
    policy = svc.settings.erase_staff_records
    session_id, jo = await _live_chat_with_notes(svc)
    await erase_session(svc, session_id=session_id)
    due = [d.session_id for d in await wrapups_due(svc, staff_id=jo)]
    assert due == ([] if policy == "all" else [session_id])

    outcome = svc.settings.wrapup_outcomes[0]
    form = check_wrapup(svc, outcomes=[outcome], risk_level="high", notes="Alex said X")
    result = await end_session(svc, session_id=session_id, staff_id=jo, wrap_up=form)

    wrap = await wrapup_of(svc, session_id=session_id)
    if policy == "all":
        assert (result.done, result.outcome, wrap) == (False, "erased", None)
        return
    assert (result.done, result.outcome) == (True, "recorded")
    assert wrap is not None
    assert ([o.outcome for o in wrap.outcomes], wrap.risk_level) == ([outcome], "high")
    assert wrap.notes == ("Alex said X" if policy == "keep" else "")
    assert await wrapups_due(svc, staff_id=jo) == []


def test_an_unknown_policy_is_refused_at_start() -> None:
    assert load_settings({}).erase_staff_records == "outcomes"
    assert load_settings({"HAVEN_ERASE_STAFF_RECORDS": "keep"}).erase_staff_records == "keep"
    with pytest.raises(SettingsError, match="ERASE_STAFF_RECORDS"):
        load_settings({"HAVEN_ERASE_STAFF_RECORDS": "everything"})
