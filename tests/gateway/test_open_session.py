"""Opening a session: the greeting stored with it in two statements, as the general path
(``add_session`` then ``bot_step``) stores it, and the general path whenever the
greeting depends on who is on duty and that is not known."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event, select

from bot_engine import BotEngine, Context, ConversationState, StepResult
from bot_engine.engine import NO_CONTEXT
from bot_engine.types import Event
from gateway.actions.bot import BotTurn, bot_step
from gateway.actions.conversation import open_session
from gateway.actions.sessions import STARTED, SessionView, add_session
from gateway.events import MessageAdded
from gateway.models import ChatSession, Message
from gateway.services import Services
from gateway.types import SessionState

pytestmark = pytest.mark.asyncio

# What a session's row and its lines hold apart from their ids and token.
ROW = ("state", "locale", "mood", "bot_state", "last_seq", "checkin_at", "priority", "risk_level")
LINE = ("seq", "sender", "text", "client_id", "quick_replies", "counsellor_id")


async def stored(svc: Services, session_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    async with svc.read() as session:
        chat = await session.get(ChatSession, session_id)
        assert chat is not None and chat.token_hash is not None
        assert chat.created_at == chat.user_seen_at
        lines = (
            await session.execute(
                select(Message).where(Message.session_id == session_id).order_by(Message.seq)
            )
        ).scalars()
        row = {name: getattr(chat, name) for name in ROW}
        return row, [{name: getattr(m, name) for name in LINE} for m in lines]


async def general_path(
    svc: Services, *, locale: str, available: int | None
) -> tuple[SessionView, BotTurn]:
    async with svc.transaction() as tx:
        chat, _token = await add_session(svc, tx, locale=locale)
        turn = await bot_step(svc, tx, chat, STARTED, available=available)
    return SessionView(chat.id, SessionState(chat.state), chat.last_seq, chat.locale, None), turn


def lines_of(turn: BotTurn) -> list[MessageAdded]:
    assert all(isinstance(e, MessageAdded) for e in turn.events)
    return [e for e in turn.events if isinstance(e, MessageAdded)]


def delivered(turn: BotTurn) -> list[tuple[Any, ...]]:
    """What the caller delivers, without the session's id."""
    return [
        (e.seq, e.sender, e.text, e.quick_replies, turn.delays[e.seq]) for e in lines_of(turn)
    ] + [("end", turn.end, turn.spoke)]


@pytest.mark.parametrize("locale", ["en", "cy-GB", "xx"])
@pytest.mark.parametrize("available", [None, 0, 2])
async def test_the_greeting_is_stored_with_the_session_as_the_general_path_stores_it(
    svc: Services, locale: str, available: int | None
) -> None:
    view, token, turn = await open_session(svc, locale=locale, available=available)
    expected_view, expected_turn = await general_path(svc, locale=locale, available=available)

    assert len(token) >= 22
    assert (view.state, view.last_seq, view.locale) == (
        expected_view.state,
        expected_view.last_seq,
        expected_view.locale,
    )
    assert view.last_seq == 2  # the packaged greeting: two lines
    row, lines = await stored(svc, view.id)
    expected_row, expected_lines = await stored(svc, expected_view.id)
    assert row == expected_row
    assert lines == expected_lines
    # The same frames go out, with the same typing pauses.
    assert [e.session_id for e in lines_of(turn)] == [view.id] * 2
    assert delivered(turn) == delivered(expected_turn)
    assert ConversationState.from_json(row["bot_state"]).node == "greeting"


class GreetsByWhoIsOnDuty(BotEngine):
    """The packaged script, but its greeting has a line less when nobody is on duty:
    a greeting that depends on the count, as a script's own may."""

    def step(
        self, state: ConversationState, event: Event, now: datetime, context: Context = NO_CONTEXT
    ) -> StepResult:
        result = super().step(state, event, now, context)
        if event != STARTED:
            return result
        outputs = result.outputs[:1] if context.nobody_on_duty else result.outputs
        return replace(result, outputs=outputs, asked_staffing=True)


async def test_a_greeting_that_depends_on_who_is_on_duty_counts_them(svc: Services) -> None:
    bot = GreetsByWhoIsOnDuty.load(config=svc.bot.config)
    counted = replace(svc, bot=bot)  # nobody is signed in: nobody is on duty
    unknown, _token, turn = await open_session(counted, locale="en", available=None)
    assert unknown.last_seq == 1 and len(turn.events) == 1
    _row, lines = await stored(counted, unknown.id)
    assert [line["seq"] for line in lines] == [1]

    known, _token, turn = await open_session(counted, locale="en", available=3)
    assert known.last_seq == 2 and len(turn.events) == 2
    _row, lines = await stored(counted, known.id)
    assert [line["seq"] for line in lines] == [1, 2]


async def test_a_new_session_and_its_greeting_take_two_statements(svc: Services) -> None:
    await open_session(svc, locale="en", available=None)  # statements compiled once
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().split()[0].upper() in {"SELECT", "INSERT", "UPDATE", "DELETE"}:
            seen.append(" ".join(statement.split()[:3]))

    event.listen(svc.db.engine.sync_engine, "before_cursor_execute", record)
    try:
        view, _token, _turn = await open_session(svc, locale="en", available=None)
    finally:
        event.remove(svc.db.engine.sync_engine, "before_cursor_execute", record)
    assert seen == ["INSERT INTO chat_sessions", "INSERT INTO messages"]
    _row, lines = await stored(svc, view.id)
    assert [line["seq"] for line in lines] == [1, 2]
