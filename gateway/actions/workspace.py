"""What the counsellor workspace reads: queue rows, a counsellor's own chats, a glance.

Reads only; every change goes through the actions of its domain.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import ChatSession, Message, Staff
from gateway.services import Services
from gateway.types import Priority, SenderKind, SessionState

# A preview is a glance, not the transcript: enough to judge urgency.
PREVIEW_CHARS = 140


def person_seems_gone(svc: Services, chat: ChatSession, now: datetime) -> bool:
    """The person's widget has missed three heartbeats (closed tab, lost signal)."""
    return chat.user_seen_at < now - timedelta(seconds=svc.settings.heartbeat_s * 3)


async def previews_of(session: AsyncSession, ids: Iterable[int]) -> dict[int, str]:
    """The last thing each person wrote, cut to a preview, in one query."""
    ids = list(ids)
    if not ids:
        return {}
    latest = (
        select(Message.session_id, func.max(Message.seq).label("seq"))
        .where(Message.session_id.in_(ids), Message.sender == SenderKind.USER.value)
        .group_by(Message.session_id)
        .subquery()
    )
    rows = await session.execute(
        select(Message.session_id, Message.text).join(
            latest, and_(Message.session_id == latest.c.session_id, Message.seq == latest.c.seq)
        )
    )
    return {session_id: text[:PREVIEW_CHARS] for session_id, text in rows.all()}


@dataclass(frozen=True)
class QueueRow:
    """One waiting person as a counsellor's dashboard shows them."""

    session_id: int
    position: int
    priority: Priority
    reason: str | None
    matched: str | None
    risk_level: str
    risk_topic: str | None
    mood: str | None
    locale: str
    queued_at: datetime
    front: bool
    preview: str
    person_away: bool


@dataclass(frozen=True)
class MyChat:
    """A live chat of the signed-in counsellor, for the "Your chats" list."""

    session_id: int
    priority: Priority
    mood: str | None
    risk_level: str
    claimed_at: datetime | None
    person_waiting: bool  # the last message is the person's: they are waiting for a reply


async def chat_for_staff(svc: Services, *, session_id: int) -> ChatSession | None:
    async with svc.read() as session:
        return await session.get(ChatSession, session_id)


@dataclass(frozen=True)
class Glance:
    """All a counsellor who does not own a chat may see of it: its state, owner and preview."""

    session_id: int
    state: SessionState
    owner_name: str | None
    preview: str


async def glance(svc: Services, *, session_id: int) -> Glance | None:
    async with svc.read() as session:
        row = (
            await session.execute(
                select(ChatSession, Staff.display_name)
                .outerjoin(Staff, Staff.id == ChatSession.counsellor_id)
                .where(ChatSession.id == session_id)
            )
        ).one_or_none()
        if row is None:
            return None
        chat, owner = row
        preview = (await previews_of(session, [chat.id])).get(chat.id, "")
    state = SessionState(chat.state)
    return Glance(chat.id, state, owner if state == SessionState.LIVE else None, preview)
