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

from sqlalchemy import select

from gateway.actions.queue import availability, queue_entry
from gateway.actions.workspace import (
    MyChat,
    QueueRow,
    person_seems_gone,
    previews_of,
    unread_counts,
)
from gateway.broker.base import LocalNotice
from gateway.models import ChatSession, Message
from gateway.queue_order import order_queue
from gateway.services import Services
from gateway.types import Priority, SenderKind, SessionState
from gateway.wait_outlook import (
    CLAIM_WINDOW_S,
    HANDLING_WINDOW_S,
    ServiceLoad,
    WaitOutlook,
    estimate_wait,
)


@dataclass(frozen=True)
class QueuePosition:
    """What one waiting person is told (the widget's ``queue`` frame)."""

    position: int
    estimated_wait_s: int | None
    # Free counsellors: on duty and below their chat limit.
    counsellors_available: int
    counsellors_on_duty: int
    wait_outlook: WaitOutlook
    wait_range_s: tuple[int, int] | None


@dataclass(frozen=True, eq=False)
class QueueSnapshot(LocalNotice):
    """The queue in order, who is on duty and free, and the live chats of some counsellors."""

    at: datetime
    rows: list[QueueRow]
    load: ServiceLoad
    mine: dict[int, list[MyChat]] = field(default_factory=dict)
    positions: dict[int, int] = field(default_factory=dict)
    # The counsellors whose own chats were read (``mine`` is complete for them).
    staff_ids: frozenset[int] = frozenset()

    def position_of(self, session_id: int) -> QueuePosition | None:
        position = self.positions.get(session_id)
        if position is None:
            return None
        wait = estimate_wait(position, self.load)
        return QueuePosition(
            position=position,
            estimated_wait_s=wait.estimated_s,
            counsellors_available=self.load.free,
            counsellors_on_duty=self.load.on_duty,
            wait_outlook=wait.outlook,
            wait_range_s=wait.range_s,
        )

    @property
    def available(self) -> int:
        """Free counsellors: on duty and below their chat limit."""
        return self.load.free

    @property
    def on_duty(self) -> int:
        """Counsellors signed in, available and seen recently, busy or not."""
        return self.load.on_duty

    def chats_of(self, staff_id: int) -> list[MyChat]:
        return self.mine.get(staff_id, [])


async def queue_snapshot(svc: Services, *, staff_ids: Collection[int] = ()) -> QueueSnapshot:
    """Read the queue, who is on duty and free, the recent claims and these counsellors'
    chats at once."""
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
        recent_rows = (
            await session.execute(
                select(ChatSession.claimed_at, ChatSession.closed_at).where(
                    ChatSession.claimed_at >= now - timedelta(seconds=HANDLING_WINDOW_S)
                )
            )
        ).all()
        staff = await availability(
            session,
            now,
            fresh_s=svc.settings.heartbeat_s * 3,
            max_chats=svc.settings.counsellor_max_chats,
        )
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
        unread = await unread_counts(session, (chat.id for chat, _ in live))
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
            flood_group=chat.flood_group,
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
                unread=unread.get(chat.id, 0),
                last_seq=chat.last_seq,
            )
        )
    claims_since = now - timedelta(seconds=CLAIM_WINDOW_S)
    recent = [(claimed, closed) for claimed, closed in recent_rows if claimed is not None]
    lengths = tuple(
        (closed - claimed).total_seconds()
        for claimed, closed in recent
        if closed is not None and closed >= claimed
    )
    return QueueSnapshot(
        at=now,
        rows=rows,
        load=ServiceLoad(
            on_duty=staff.on_duty,
            free=staff.free,
            free_places=staff.free_places,
            service_open=svc.settings.hours.is_open(now),
            max_chats=svc.settings.counsellor_max_chats,
            recent_claims=sum(1 for claimed, _ in recent if claimed >= claims_since),
            chat_lengths_s=lengths,
        ),
        mine=dict(mine),
        positions={row.session_id: row.position for row in rows},
        staff_ids=frozenset(staff_ids),
    )
