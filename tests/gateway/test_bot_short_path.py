"""A person's message to the bot on the short path (``gateway/actions/bot.py``
``tell_bot``) stores and publishes exactly what the general path did: the message,
``bot_step`` through the locked ORM row, one transaction.

Two sessions hear the same conversation at the same clock time, one through
``person_says`` and one through the general path as it was written before the short
path; after every line their rows, their published events and what ``person_says``
returned must be the same. The conversation covers a plain reply, buttons, a
command, a request for a person (which asks who is on duty), a crisis (which
escalates) and lines while waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import event, select

from bot_engine import UserMessage
from gateway.actions.bot import BotTurn, bot_step
from gateway.actions.conversation import Said, open_session, person_says
from gateway.actions.messages import seq_of_client_id
from gateway.actions.records import append_message, lock_session
from gateway.events import Event
from gateway.models import ChatSession, Message
from gateway.services import Services
from gateway.types import SenderKind, SessionState
from tests.factories import make_staff

pytestmark = pytest.mark.asyncio

CONVERSATION: list[tuple[str, str | None]] = [
    ("Yes, continue", "yes"),
    ("I feel a bit anxious about my exams", None),
    ("line 1", None),
    ("Anxious", "anxious"),
    ("!help", None),
    ("line 1", None),  # the same words again, with a new client id
    ("can I talk to a real person please", None),
    ("I want to end my life", None),
    ("are you still there", None),
]

SESSION_COLUMNS = (
    "state",
    "priority",
    "queue_front",
    "escalation_reason",
    "escalation_match",
    "risk_level",
    "risk_topic",
    "locale",
    "mood",
    "bot_state",
    "last_seq",
    "queued_at",
    "user_seen_at",
    "checkin_at",
)


async def said_the_general_way(
    svc: Services,
    *,
    session_id: int,
    client_id: str,
    text: str,
    value: str | None,
    available: int | None,
) -> Said:
    """``person_says`` in the ``bot`` state before the short path: lock the ORM row,
    append the message, mark the person seen, ``bot_step``."""
    async with svc.transaction() as tx:
        existing = await seq_of_client_id(tx.session, session_id, client_id)
        assert existing is None
        chat = await lock_session(tx, session_id)
        assert chat.state == SessionState.BOT.value
        message = await append_message(
            tx, chat, sender=SenderKind.USER, text=text, client_id=client_id
        )
        chat.user_seen_at = tx.now
        turn = await bot_step(
            svc, tx, chat, UserMessage(text=text, value=value), available=available
        )
        return Said(message.seq, SessionState.BOT, duplicate=False, turn=turn)


async def state_of(svc: Services, session_id: int) -> SessionState:
    async with svc.read() as session:
        chat = await session.get(ChatSession, session_id)
        assert chat is not None
        return SessionState(chat.state)


async def stored(svc: Services, session_id: int) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    async with svc.read() as session:
        chat = await session.get(ChatSession, session_id)
        assert chat is not None
        row = {name: getattr(chat, name) for name in SESSION_COLUMNS}
        messages = await session.execute(
            select(
                Message.seq,
                Message.sender,
                Message.text,
                Message.client_id,
                Message.quick_replies,
                Message.counsellor_id,
                Message.created_at,
            )
            .where(Message.session_id == session_id)
            .order_by(Message.seq)
        )
        return row, [tuple(m) for m in messages]


def plain(session_id: int, events: list[tuple[str, Event]]) -> list[tuple[str, Any]]:
    """Events with the session's id taken out, to compare two sessions."""
    out = []
    for channel, item in events:
        fields = msgspec.to_builtins(item)
        if fields.get("session_id") == session_id:
            fields["session_id"] = 0
        out.append((channel.replace(str(session_id), "S"), fields))
    return out


def plain_turn(turn: BotTurn | None) -> Any:
    if turn is None:
        return None
    events = [("", e) for e in turn.events]
    return plain(turn.session_id, events), sorted(turn.delays.values()), turn.end, turn.spoke


def recorder(svc: Services, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Event]]:
    published: list[tuple[str, Event]] = []
    publish = svc.broker.publish

    async def keep(channel: str, item: Event) -> None:
        published.append((channel, item))
        await publish(channel, item)

    monkeypatch.setattr(svc.broker, "publish", keep)
    return published


def fixed_clock(svc: Services) -> Callable[[datetime], None]:
    def set_to(at: datetime) -> None:
        svc.clock = lambda: at

    return set_to


@pytest.mark.parametrize("available", [None, 0, 2])
@pytest.mark.parametrize("on_duty", [False, True])
async def test_the_short_path_stores_and_says_what_the_general_path_did(
    svc: Services, monkeypatch: pytest.MonkeyPatch, available: int | None, on_duty: bool
) -> None:
    if on_duty:
        await make_staff(svc)  # available and seen now: on duty, free
    set_clock = fixed_clock(svc)
    at = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    set_clock(at)
    short, _token, _turn = await open_session(svc, locale="en")
    general, _token, _turn = await open_session(svc, locale="en")
    published = recorder(svc, monkeypatch)
    for n, (text, value) in enumerate(CONVERSATION):
        at += timedelta(seconds=7)
        set_clock(at)
        results = []
        for session_id in (short.id, general.id):
            published.clear()
            line: dict[str, Any] = {
                "session_id": session_id,
                "client_id": f"c{n}",
                "text": text,
                "value": value,
            }
            if session_id == general.id and await state_of(svc, session_id) == SessionState.BOT:
                result = await said_the_general_way(svc, available=available, **line)
            else:
                result = await person_says(
                    svc, available=available, expected=SessionState.BOT, **line
                )
            results.append(
                (
                    (result.seq, result.state, result.duplicate),
                    plain_turn(result.turn),
                    plain(session_id, list(published)),
                    await stored(svc, session_id),
                )
            )
        assert results[0] == results[1], f"after {text!r}"
    row, _messages = await stored(svc, short.id)
    assert row["state"] == SessionState.QUEUED.value  # the crisis took the ORM path


async def test_a_resend_is_stored_once_and_acknowledged_again(svc: Services) -> None:
    session, _token, _turn = await open_session(svc, locale="en")
    first = await person_says(
        svc, session_id=session.id, client_id="a", text="hello", expected=SessionState.BOT
    )
    again = await person_says(
        svc, session_id=session.id, client_id="a", text="hello", expected=SessionState.BOT
    )
    assert (again.seq, again.duplicate, again.turn) == (first.seq, True, None)
    _row, messages = await stored(svc, session.id)
    assert [m[3] for m in messages].count("a") == 1


async def test_a_plain_line_to_the_bot_is_three_statements_and_counts_no_staff(
    svc: Services,
) -> None:
    """The short path's shape: the conditional update (which checks the client id), the step's
    update and one insert for the line and the replies; nobody counts counsellors
    for a reply that does not mention them."""
    session, _token, _turn = await open_session(svc, locale="en")
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            statements.append(" ".join(statement.split()))

    engine = svc.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        said = await person_says(
            svc, session_id=session.id, client_id="x1", text="line 1", expected=SessionState.BOT
        )
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert said.turn is not None and said.turn.spoke
    assert [s.split()[0] for s in statements] == ["UPDATE", "UPDATE", "INSERT"]
    assert not any("staff" in s for s in statements)


async def test_a_step_says_whether_it_looked_at_who_is_on_duty(svc: Services) -> None:
    bot = svc.bot
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    state = bot.step(bot.new_state("en"), UserMessage(text="", value="yes"), now).state
    assert not bot.step(state, UserMessage(text="line 1"), now).asked_staffing
    assert bot.step(state, UserMessage(text="can I talk to a real person"), now).asked_staffing
    assert bot.step(state, UserMessage(text="I want to end my life"), now).asked_staffing


async def test_a_message_assessed_again_gives_the_same_finding(svc: Services) -> None:
    detector = svc.bot._views["en"].triggers
    first = detector.assess("I want to end my life")
    assert detector.assess("I want to end my life") == first
    other = detector.assess("line 1")
    assert other.match is None and first.match is not None
    assert detector.assess("I want to end my life") == first
