"""What the counsellor workspace reads: queue rows, a counsellor's own chats, a glance.

Reads only; every change goes through the actions of its domain.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
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
    """The last thing each person typed, cut to a preview, in one query.

    A quick reply the person pressed is stored as a message with the button's
    words ("Talk to a person"); it says nothing a counsellor needs to judge
    urgency, so the preview skips it for the last words the person wrote
    themselves (empty if they only pressed buttons).
    """
    ids = list(ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(Message.session_id, Message.sender, Message.text, Message.quick_replies)
        .where(
            Message.session_id.in_(ids),
            Message.sender.in_((SenderKind.USER.value, SenderKind.BOT.value)),
        )
        .order_by(Message.session_id, Message.seq)
    )
    typed: dict[int, str] = {}
    offered: dict[int, set[str]] = {}
    for session_id, sender, text, quick_replies in rows.all():
        if sender == SenderKind.BOT.value:
            offered[session_id] = {q.get("label", "") for q in quick_replies or ()}
        elif text not in offered.get(session_id, ()):
            typed[session_id] = text[:PREVIEW_CHARS]
    return typed


async def unread_counts(session: AsyncSession, ids: Iterable[int]) -> dict[int, int]:
    """For each chat, the person's messages since the counsellor last wrote (or joined:
    the service's "Sam has joined the chat"), in one query."""
    ids = list(ids)
    if not ids:
        return {}
    answered = (
        select(Message.session_id, func.max(Message.seq).label("seq"))
        .where(
            Message.session_id.in_(ids),
            Message.sender.in_((SenderKind.COUNSELLOR.value, SenderKind.SYSTEM.value)),
        )
        .group_by(Message.session_id)
        .subquery()
    )
    rows = await session.execute(
        select(Message.session_id, func.count(Message.id))
        .outerjoin(answered, answered.c.session_id == Message.session_id)
        .where(
            Message.session_id.in_(ids),
            Message.sender == SenderKind.USER.value,
            or_(answered.c.seq.is_(None), Message.seq > answered.c.seq),
        )
        .group_by(Message.session_id)
    )
    return {session_id: int(count) for session_id, count in rows.all()}


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
    # The flood group it is in (gateway/actions/floods.py), shown as one group.
    flood_group: str | None = None


@dataclass(frozen=True)
class MyChat:
    """A live chat of the signed-in counsellor, for the "Your chats" list."""

    session_id: int
    priority: Priority
    mood: str | None
    risk_level: str
    claimed_at: datetime | None
    person_waiting: bool  # the last message is the person's: they are waiting for a reply
    # The person's messages since the counsellor last wrote or joined.
    unread: int = 0
    # The chat's last seq when read: events up to it are already counted above.
    last_seq: int = 0


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
