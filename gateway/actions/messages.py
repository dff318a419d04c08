"""Storing and reading transcript messages."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.actions.records import (
    append_if_state,
    append_live_fast,
    append_message,
    lock_session,
)
from gateway.models import ChatSession, Message, Staff
from gateway.services import Services
from gateway.types import SenderKind, SessionState


class SessionClosed(Exception):
    """The session has ended; nothing more can be said in it."""


class NotYourSession(PermissionError):
    """A counsellor tried to post to a session they do not own."""


@dataclass(frozen=True)
class Posted:
    seq: int
    state: SessionState
    duplicate: bool


async def post_user_message(svc: Services, *, session_id: int, client_id: str, text: str) -> Posted:
    """Store the person's message (once per client_id) before it is acknowledged."""
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        existing = await seq_of_client_id(tx.session, session_id, client_id)
        state = SessionState(chat.state)
        if existing is not None:
            return Posted(existing, state, duplicate=True)
        if state.finished:
            raise SessionClosed(session_id)
        message = await append_message(
            tx, chat, sender=SenderKind.USER, text=text, client_id=client_id
        )
        chat.user_seen_at = tx.now
        return Posted(message.seq, state, duplicate=False)


async def post_counsellor_message(
    svc: Services, *, session_id: int, staff: Staff, client_id: str, text: str
) -> int:
    """A counsellor's message into a live session they own (once per client_id)."""
    if svc.appender is not None:
        done = await append_live_fast(
            svc,
            svc.appender,
            session_id=session_id,
            sender=SenderKind.COUNSELLOR,
            text=text,
            client_id=client_id,
            counsellor=staff,
        )
        if not (done.stored or done.duplicate):
            raise NotYourSession(session_id)
        return done.seq
    async with svc.transaction() as tx:
        existing = await seq_of_client_id(tx.session, session_id, client_id)
        if existing is not None:
            return existing
        stored = await append_if_state(
            tx,
            session_id=session_id,
            states=(SessionState.LIVE,),
            sender=SenderKind.COUNSELLOR,
            text=text,
            client_id=client_id,
            counsellor=staff,
        )
        if stored is None:
            raise NotYourSession(session_id)
        return stored[0]


async def seq_of_client_id(session: AsyncSession, session_id: int, client_id: str) -> int | None:
    result = await session.execute(
        select(Message.seq).where(Message.session_id == session_id, Message.client_id == client_id)
    )
    return result.scalar_one_or_none()


@dataclass(frozen=True)
class TranscriptLine:
    seq: int
    sender: SenderKind
    text: str
    at_iso: str
    client_id: str | None
    quick_replies: list[dict[str, str]] | None
    counsellor_name: str | None


async def messages_after(
    svc: Services, *, session_id: int, after_seq: int = 0, limit: int | None = None
) -> list[TranscriptLine]:
    """The transcript from ``after_seq + 1`` on, in order."""
    query = (
        select(Message, Staff.display_name)
        .outerjoin(Staff, Staff.id == Message.counsellor_id)
        .where(Message.session_id == session_id, Message.seq > after_seq)
        .order_by(Message.seq)
    )
    if limit is not None:
        query = query.limit(limit)
    async with svc.read() as session:
        rows = (await session.execute(query)).all()
    return [
        TranscriptLine(
            seq=m.seq,
            sender=SenderKind(m.sender),
            text=m.text,
            at_iso=m.created_at.isoformat().replace("+00:00", "Z"),
            client_id=m.client_id,
            quick_replies=m.quick_replies,
            counsellor_name=name,
        )
        for m, name in rows
    ]


async def session_exists(svc: Services, *, session_id: int) -> bool:
    async with svc.read() as session:
        return await session.get(ChatSession, session_id) is not None
