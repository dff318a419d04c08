"""The queue as every listener of one process sees it, read once per change.

When the queue changes, each process reads it once (``queue_snapshot``) and
pushes the result to its own connections: each waiting person gets their
position, each workspace the rows and its own chats. The work grows with the
number of changes, not with the number of listeners.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from gateway.actions.queue import counsellors_available, queue_entry
from gateway.actions.workspace import MyChat, QueueRow, person_seems_gone, previews_of
from gateway.broker.base import LocalNotice
from gateway.models import ChatSession, Message
from gateway.queue_order import estimate_wait_s, order_queue
from gateway.services import Services
from gateway.types import Priority, SenderKind, SessionState


@dataclass(frozen=True)
class QueuePosition:
    position: int
    estimated_wait_s: int | None
    counsellors_available: int


@dataclass(frozen=True, eq=False)
class QueueSnapshot(LocalNotice):
    """The queue in order, who is available, and the live chats of some counsellors."""

    at: datetime
    rows: list[QueueRow]
    available: int
    claims_last_hour: int
    mine: dict[int, list[MyChat]] = field(default_factory=dict)
    positions: dict[int, int] = field(default_factory=dict)
    # The counsellors whose own chats were read (``mine`` is complete for them).
    staff_ids: frozenset[int] = frozenset()

    def position_of(self, session_id: int) -> QueuePosition | None:
        position = self.positions.get(session_id)
        if position is None:
            return None
        wait = estimate_wait_s(position, self.claims_last_hour)
        return QueuePosition(position, wait, self.available)

    def chats_of(self, staff_id: int) -> list[MyChat]:
        return self.mine.get(staff_id, [])


async def queue_snapshot(svc: Services, *, staff_ids: Collection[int] = ()) -> QueueSnapshot:
    """Read the queue, availability, the claim rate and these counsellors' chats at once."""
    now = svc.clock()
    async with svc.read() as session:
        queued = list(
            (
                await session.execute(
                    select(ChatSession).where(ChatSession.state == SessionState.QUEUED.value)
                )
            ).scalars()
        )
        previews = await previews_of(session, (c.id for c in queued))
        claims = int(
            (
                await session.execute(
                    select(func.count(ChatSession.id)).where(
                        ChatSession.claimed_at >= now - timedelta(hours=1)
                    )
                )
            ).scalar_one()
        )
        available = await counsellors_available(session, now, svc.settings.heartbeat_s * 3)
        live: list[tuple[ChatSession, str | None]] = []
        if staff_ids:
            last_sender = (
                select(Message.sender)
                .where(Message.session_id == ChatSession.id, Message.seq == ChatSession.last_seq)
                .scalar_subquery()
            )
            live = [
                (chat, sender)
                for chat, sender in (
                    await session.execute(
                        select(ChatSession, last_sender)
                        .where(
                            ChatSession.state == SessionState.LIVE.value,
                            ChatSession.counsellor_id.in_(sorted(staff_ids)),
                        )
                        .order_by(ChatSession.claimed_at, ChatSession.id)
                    )
                ).all()
            ]
    by_id = {c.id: c for c in queued}
    entries = (queue_entry(c) for c in queued)
    ordered = [by_id[e.session_id] for e in order_queue(entries, now, svc.settings.queue_ageing_s)]
    rows = [
        QueueRow(
            session_id=chat.id,
            position=index,
            priority=Priority(chat.priority),
            reason=chat.escalation_reason,
            matched=chat.escalation_match,
            risk_level=chat.risk_level,
            risk_topic=chat.risk_topic,
            mood=chat.mood,
            locale=chat.locale,
            queued_at=chat.queued_at or chat.created_at,
            front=chat.queue_front,
            preview=previews.get(chat.id, ""),
            person_away=person_seems_gone(svc, chat, now),
        )
        for index, chat in enumerate(ordered, start=1)
    ]
    mine: dict[int, list[MyChat]] = defaultdict(list)
    for chat, sender in live:
        assert chat.counsellor_id is not None
        mine[chat.counsellor_id].append(
            MyChat(
                session_id=chat.id,
                priority=Priority(chat.priority),
                mood=chat.mood,
                risk_level=chat.risk_level,
                claimed_at=chat.claimed_at,
                person_waiting=sender == SenderKind.USER.value,
            )
        )
    return QueueSnapshot(
        at=now,
        rows=rows,
        available=available,
        claims_last_hour=claims,
        mine=dict(mine),
        positions={row.session_id: row.position for row in rows},
        staff_ids=frozenset(staff_ids),
    )
