"""Starting, resuming, leaving and erasing an anonymous chat session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Table, delete, insert, select, update

from bot_engine import Context, End, Reply, ScheduleCheckin, SessionEvent, StepResult
from gateway.actions.audit import ERASE, audit
from gateway.actions.bot import BotTurn
from gateway.actions.records import add_ending_notice, lock_session, message_event, set_state
from gateway.actions.waits import OUTCOME_ERASED, OUTCOME_LEFT, close_wait
from gateway.events import (
    QUEUE_CHANNEL,
    Event,
    QueueChanged,
    SessionErased,
    SessionStateChanged,
    session_channel,
)
from gateway.models import ChatSession, Message, SessionNote, Staff, WrapUp
from gateway.scrub import forget_deleted_text
from gateway.security import hash_token, new_token
from gateway.services import Services, Transaction
from gateway.types import SenderKind, SessionState

STARTED = SessionEvent(kind="started")
_Output = TypeVar("_Output", End, ScheduleCheckin)


@dataclass(frozen=True)
class SessionView:
    """What a widget connection needs to know about its session."""

    id: int
    state: SessionState
    last_seq: int
    locale: str
    counsellor_name: str | None
    # With the bot, the text of a last message that the bot never answered (stored
    # by an older release, which answered in a separate unit of work).
    unanswered: str | None = None


async def _view(svc: Services, chat: ChatSession) -> SessionView:
    name = unanswered = None
    if chat.counsellor_id is not None and chat.state == SessionState.LIVE:
        async with svc.read() as session:
            staff = await session.get(Staff, chat.counsellor_id)
            name = staff.display_name if staff else None
    elif chat.state == SessionState.BOT and chat.last_seq > 0:
        async with svc.read() as session:
            last = (
                await session.execute(
                    select(Message.sender, Message.text).where(
                        Message.session_id == chat.id, Message.seq == chat.last_seq
                    )
                )
            ).one_or_none()
        if last is not None and last.sender == SenderKind.USER.value:
            unanswered = last.text
    state = SessionState(chat.state)
    return SessionView(chat.id, state, chat.last_seq, chat.locale, name, unanswered)


async def start_session(svc: Services, *, locale: str) -> tuple[SessionView, str]:
    """Create a session and return it with its resume token (shown once, stored hashed)."""
    async with svc.transaction() as tx:
        chat, token = await add_session(svc, tx, locale=locale)
    return SessionView(chat.id, SessionState.BOT, 0, chat.locale, None), token


async def add_session(svc: Services, tx: Transaction, *, locale: str) -> tuple[ChatSession, str]:
    """A new session with the bot, in the caller's unit of work, and its resume token
    (returned once, stored hashed)."""
    token = new_token()
    locale = svc.bot.locale_for(locale)  # "cy-GB" -> "cy"; unknown -> "en"
    chat = ChatSession(
        token_hash=hash_token(token),
        state=SessionState.BOT.value,
        locale=locale,
        bot_state=svc.bot.new_state(locale).to_json(),
        created_at=tx.now,
        user_seen_at=tx.now,
    )
    tx.session.add(chat)
    await tx.session.flush()
    return chat, token


# A new session and its greeting as two Core statements built once
# (``add_greeted_session``): the session's row with the greeting's outcome already
# in it, then every line of the greeting in one INSERT.
_chats = cast(Table, ChatSession.__table__)
_SESSION_ADDED = insert(_chats).returning(_chats.c.id)
_GREETING_ADDED = insert(cast(Table, Message.__table__))


async def add_greeted_session(
    svc: Services, tx: Transaction, *, locale: str, available: int | None
) -> tuple[SessionView, str, BotTurn] | None:
    """A new session with the bot and its greeting, in the caller's unit of work: the
    session, its resume token (returned once, stored hashed) and the greeting's turn
    to deliver. The same rows and events as ``add_session`` and then ``bot_step`` with
    ``started``, in two statements, because the engine is pure: the greeting is worked
    out before anything is written.

    None (nothing written) when the greeting needs what only the general path does: it
    escalates (the queue and a count of free places), or it looked at who is on duty
    (``StepResult.asked_staffing``) and ``available`` is not known. Otherwise the count
    is never read (a query the idle scenario of bench/ paid on every new session)."""
    locale = svc.bot.locale_for(locale)  # "cy-GB" -> "cy"; unknown -> "en"
    state = svc.bot.new_state(locale)
    context = Context(
        counsellors_available=available, service_open=svc.settings.hours.is_open(tx.now)
    )
    result = svc.bot.step(state, STARTED, tx.now, context)
    if available is None and result.asked_staffing:
        return None
    if any(not isinstance(output, (Reply, ScheduleCheckin, End)) for output in result.outputs):
        return None
    token = new_token()
    lines = [output for output in result.outputs if isinstance(output, Reply)]
    checkin = _last(ScheduleCheckin, result)
    connection = await tx.session.connection()
    row = {
        "token_hash": hash_token(token),
        "state": SessionState.BOT.value,
        "locale": locale,
        "bot_state": result.state.to_json(),
        "mood": result.state.mood,
        "last_seq": len(lines),
        "created_at": tx.now,
        "user_seen_at": tx.now,
        "checkin_at": checkin.at if checkin is not None else None,
    }
    session_id = int((await connection.execute(_SESSION_ADDED, row)).scalar_one())
    turn = BotTurn(session_id, spoke=bool(lines))
    rows = [_greeting_line(session_id, seq, reply, tx.now) for seq, reply in enumerate(lines, 1)]
    if rows:
        await connection.execute(_GREETING_ADDED, rows)
    for line, reply in zip(rows, lines, strict=True):
        turn.events.append(message_event(Message(**line)))
        turn.delays[line["seq"]] = reply.typing_delay_s
    turn.end = _last(End, result)
    if svc.metrics is not None:
        svc.metrics.bot_turn()
    return SessionView(session_id, SessionState.BOT, len(lines), locale, None), token, turn


def _last(kind: type[_Output], result: StepResult) -> _Output | None:
    """The step's last output of this kind (as ``bot_step``, the last one wins)."""
    found = [output for output in result.outputs if isinstance(output, kind)]
    return found[-1] if found else None


def _buttons(reply: Reply) -> list[dict[str, str]] | None:
    return [{"label": q.label, "value": q.value} for q in reply.quick_replies] or None


def _greeting_line(session_id: int, seq: int, reply: Reply, at: datetime) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "seq": seq,
        "sender": SenderKind.BOT.value,
        "counsellor_id": None,
        "text": reply.text,
        "client_id": None,
        "quick_replies": _buttons(reply),
        "created_at": at,
    }


async def find_session(svc: Services, *, token: str) -> SessionView | None:
    """The session a token resumes (in any state), or None when unknown or erased."""
    async with svc.read() as session:
        chat = (
            await session.execute(
                select(ChatSession).where(ChatSession.token_hash == hash_token(token))
            )
        ).scalar_one_or_none()
    if chat is None:
        return None
    return await _view(svc, chat)


async def session_view(svc: Services, *, session_id: int) -> SessionView:
    async with svc.read() as session:
        chat = await session.get(ChatSession, session_id)
    if chat is None:
        raise LookupError(session_id)
    return await _view(svc, chat)


async def close_by_bot(svc: Services, *, session_id: int) -> None:
    """The bot ended the conversation (the person said stop)."""
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        if chat.state == SessionState.BOT.value:
            await set_state(tx, chat, SessionState.CLOSED, closed_at=tx.now, checkin_at=None)


# Said when the bot script has no ``person_left`` notice (with the helplines).
LEFT = "You've ended the chat. Take care of yourself."


@dataclass(frozen=True)
class LeftSession:
    """The session's state once the person has left, and the seq of the notice they
    were given (the helplines): their connection sends messages up to it, then closes."""

    state: SessionState
    notice_seq: int = 0


async def leave_session(svc: Services, *, session_id: int) -> LeftSession:
    """The person ends the session (End chat or Quick exit): they are given the
    helplines in their language. A counsellor in the chat is told they left by the
    state change (their page says so live); the notice itself, the transcript's last
    line, reads "You've ended the chat" to them too, so no line is added for them
    alone: every line of a transcript is one the person may be sent again on resume."""
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        state = SessionState(chat.state)
        if state.finished:
            return LeftSession(state)
        notice = await add_ending_notice(svc, tx, chat, "person_left", LEFT)
        new_state = SessionState.ABANDONED if state == SessionState.QUEUED else SessionState.CLOSED
        await set_state(tx, chat, new_state, closed_at=tx.now, checkin_at=None)
        if state == SessionState.QUEUED:
            await close_wait(tx, chat.id, outcome=OUTCOME_LEFT)
        if state in (SessionState.QUEUED, SessionState.LIVE):
            tx.publish_after_commit(QUEUE_CHANNEL, QueueChanged(session_id=chat.id, reason="left"))
    return LeftSession(new_state, notice.seq)


async def erase_session(
    svc: Services, *, session_id: int, notify: bool = True, staff_id: int | None = None
) -> None:
    """Delete the conversation: its messages, its bot state and its token.

    What staff wrote about it follows ``HAVEN_ERASE_STAFF_RECORDS``
    (``apply_erase_policy``): by default private notes and wrap-up notes go, since
    they may quote the person, and the wrap-up's outcomes, assessed risk level and
    times stay as the service's record of what it decided.

    With ``notify`` the person's widgets are told ``erased`` (they clear the
    screen); without it (the person declined consent and was just shown the
    helplines) they are only told the chat is closed and that nothing of it is kept
    (``kept`` false), so the numbers stay on screen and nothing offers to delete
    what was never kept.

    ``staff_id``: an admin erasing it by its reference (the audit line says who).
    The deleted text then leaves the database files (gateway/scrub.py) before anyone
    is told, so an ``erased`` frame means the files no longer hold it.
    """
    told: list[tuple[str, Event]] = []
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        was = SessionState(chat.state)
        if staff_id is not None:
            how = "by an admin"
        else:
            how = "by the person" if notify else "the person declined consent"
        audit(tx, ERASE, staff_id=staff_id, session_id=chat.id, detail=f"{how} ({was.value})")
        await tx.session.execute(delete(Message).where(Message.session_id == session_id))
        await apply_erase_policy(tx, session_id, svc.settings.erase_staff_records)
        chat.token_hash = None
        chat.bot_state = None
        chat.mood = None
        chat.escalation_match = None
        chat.checkin_at = None
        if not was.finished:
            chat.state = SessionState.CLOSED.value
            chat.closed_at = tx.now
        if was == SessionState.QUEUED:
            await close_wait(tx, chat.id, outcome=OUTCOME_ERASED)
        if notify:
            told.append((session_channel(chat.id), SessionErased(session_id=chat.id)))
        elif not was.finished:
            closed = SessionStateChanged(
                session_id=chat.id, state=SessionState.CLOSED.value, kept=False
            )
            told.append((session_channel(chat.id), closed))
        if was in (SessionState.QUEUED, SessionState.LIVE):
            tx.publish_after_commit(
                QUEUE_CHANNEL, QueueChanged(session_id=chat.id, reason="erased")
            )
    await forget_deleted_text(svc.db)
    for channel, event in told:
        await svc.publish(channel, event)


# HAVEN_ERASE_STAFF_RECORDS (gateway/settings.py; docs/safeguarding.md says why).
KEEP_OUTCOMES = "outcomes"
KEEP_STAFF_NOTES = "keep"
KEEP_COUNTS_ONLY = "all"


def was_erased(chat: ChatSession) -> bool:
    """The person deleted this conversation (``erase_session`` drops the token, and
    nothing else does but the retention purge, which sets ``purged_at``)."""
    return chat.token_hash is None and chat.purged_at is None


async def apply_erase_policy(tx: Transaction, session_id: int, policy: str) -> None:
    """What an erase does to what staff wrote about the conversation."""
    if policy == KEEP_STAFF_NOTES:
        return
    await tx.session.execute(delete(SessionNote).where(SessionNote.session_id == session_id))
    if policy == KEEP_COUNTS_ONLY:
        wrap_up = await tx.session.get(WrapUp, session_id)
        if wrap_up is not None:
            await tx.session.delete(wrap_up)  # its outcomes go with it
        return
    await tx.session.execute(update(WrapUp).where(WrapUp.session_id == session_id).values(notes=""))


def wrapup_notes_after_erase(policy: str) -> bool:
    """Whether a wrap-up written after the person deleted the chat keeps its notes."""
    return policy == KEEP_STAFF_NOTES


def wrapup_after_erase(policy: str) -> bool:
    """Whether a wrap-up is recorded at all for a chat the person deleted."""
    return policy != KEEP_COUNTS_ONLY
