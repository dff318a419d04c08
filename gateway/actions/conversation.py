"""What the person says, as one unit of work: the message, the bot's answer, any escalation.

Storing the message and running the bot in one transaction means no crash
can leave a message stored and unanswered: either both are kept or neither
is (and the client, which had no ``ack``, sends it again). In a live chat on
SQLite the message takes the appender's hot path (``gateway/appender.py``):
nobody but the counsellor answers there, so there is nothing else to store.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from bot_engine import UserMessage
from gateway.actions.bot import BotTurn, bot_step, tell_bot
from gateway.actions.messages import SessionClosed, seq_of_client_id
from gateway.actions.queue import escalate_for
from gateway.actions.records import (
    append_if_state,
    append_live_fast,
    append_message,
    lock_session,
)
from gateway.actions.sessions import STARTED, SessionView, add_greeted_session, add_session
from gateway.services import Services, Transaction
from gateway.types import SenderKind, SessionState


@dataclass(frozen=True)
class Said:
    seq: int
    state: SessionState  # the state the message was stored in
    duplicate: bool
    turn: BotTurn | None  # the bot's answer, to deliver with typing pauses


async def open_session(
    svc: Services, *, locale: str, available: int | None = None
) -> tuple[SessionView, str, BotTurn]:
    """A new chat and the bot's greeting, as one unit of work.

    The greeting is stored with the session; the caller delivers the returned
    turn (typing pauses and all) after its ``welcome``.
    """
    async with svc.transaction() as tx:
        # The usual greeting: two statements (``add_greeted_session``).
        greeted = await add_greeted_session(svc, tx, locale=locale, available=available)
        if greeted is not None:
            return greeted
        chat, token = await add_session(svc, tx, locale=locale)
        turn = await bot_step(svc, tx, chat, STARTED, available=available)
    view = SessionView(chat.id, SessionState.BOT, chat.last_seq, chat.locale, None)
    return view, token, turn


async def person_says(
    svc: Services,
    *,
    session_id: int,
    client_id: str,
    text: str,
    value: str | None = None,
    available: int | None = None,
    expected: SessionState | None = None,
) -> Said:
    """Store the person's message (once per client_id) and let whoever speaks answer.

    Who speaks (PROTOCOL.md 9) is decided from the state stored with the message:
    the bot only in ``bot``; in ``queued`` a crisis raises the priority.
    ``expected`` is the state the connection last saw: only a hint to take the
    cheapest path first; every path checks the stored state.
    """
    if svc.appender is not None and expected in (None, SessionState.LIVE):
        done = await append_live_fast(
            svc,
            svc.appender,
            session_id=session_id,
            sender=SenderKind.USER,
            text=text,
            client_id=client_id,
        )
        if done.stored or done.duplicate:
            return Said(done.seq, SessionState.LIVE, duplicate=done.duplicate, turn=None)
        # Not in a live chat: the unit of work below decides who answers.
    async with svc.transaction() as tx:
        # With the bot: the short path (``tell_bot``), which writes nothing and answers
        # None unless the session is with the bot and ``client_id`` is new.
        to_bot = partial(
            tell_bot,
            svc,
            tx,
            session_id=session_id,
            client_id=client_id,
            text=text,
            value=value,
            available=available,
        )
        if expected == SessionState.BOT and (told := await to_bot()) is not None:
            return _to_bot(told)
        existing = await seq_of_client_id(tx.session, session_id, client_id)
        if existing is not None:
            return Said(existing, await state_of(tx, session_id), duplicate=True, turn=None)
        if expected != SessionState.BOT:
            # With a counsellor, or waiting for one: the two-statement path.
            stored = await append_if_state(
                tx,
                session_id=session_id,
                states=(SessionState.QUEUED, SessionState.LIVE),
                sender=SenderKind.USER,
                text=text,
                client_id=client_id,
                person_seen=True,
            )
            if stored is not None:
                seq, state, locale = stored
                if state == SessionState.QUEUED:
                    await _crisis_while_waiting(svc, tx, session_id, text, locale)
                return Said(seq, state, duplicate=False, turn=None)
            if (told := await to_bot()) is not None:  # with the bot after all
                return _to_bot(told)
        # The general path, right in any state: lock, store, and whoever speaks.
        chat = await lock_session(tx, session_id)
        state = SessionState(chat.state)
        if state.finished:
            raise SessionClosed(session_id)
        message = await append_message(
            tx, chat, sender=SenderKind.USER, text=text, client_id=client_id
        )
        chat.user_seen_at = tx.now
        turn = None
        if state == SessionState.BOT:
            event = UserMessage(text=text, value=value)
            turn = await bot_step(svc, tx, chat, event, available=available)
        elif state == SessionState.QUEUED:
            await _crisis_while_waiting(svc, tx, session_id, text, chat.locale)
        return Said(message.seq, state, duplicate=False, turn=turn)


def _to_bot(told: tuple[int, BotTurn]) -> Said:
    seq, turn = told
    return Said(seq, SessionState.BOT, duplicate=False, turn=turn)


async def _crisis_while_waiting(
    svc: Services, tx: Transaction, session_id: int, text: str, locale: str
) -> None:
    """A waiting person wrote something that matches a crisis trigger: move them up."""
    match = svc.bot.detect(text, locale)
    if match is not None and match.kind == "crisis":
        chat = await lock_session(tx, session_id)
        if await escalate_for(tx, chat, match) and svc.metrics is not None:
            svc.metrics.escalated(chat.risk_level)


async def state_of(tx: Transaction, session_id: int) -> SessionState:
    chat = await lock_session(tx, session_id)
    return SessionState(chat.state)
