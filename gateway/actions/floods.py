"""Flood groups in the queue: marking a flood's sessions, showing them as one, clearing them.

The label comes from ``gateway/abuse/floods.py`` (random, never derived from the
address). The queue order puts labelled sessions after every other waiting one
(``gateway/queue_order.py``); staff see them as one group ("12 sessions from one
source in 2 minutes"), and a supervisor or admin can close a group's waiting
sessions in one press (``clear_flood``): each person is given a calm ending with
the helplines, as a session that timed out is, and the audit log says who did it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select, update

from gateway.actions.audit import FLOOD_CLEAR, audit
from gateway.actions.records import add_ending_notice, set_state
from gateway.actions.waits import OUTCOME_CLOSED, close_wait
from gateway.events import QUEUE_CHANNEL, QueueChanged
from gateway.models import ChatSession
from gateway.services import Services
from gateway.types import SessionState

# What a person in a cleared flood is told (with the helplines) when the bot script
# has no ``flood_cleared`` notice. A real person may be among them: it is calm, says
# what to do, and blames nobody.
CLEARED = "This chat has closed. If you need someone, you can start a new chat at any time."
_OPEN = (SessionState.BOT.value, SessionState.QUEUED.value)


async def mark_flood(svc: Services, *, label: str, session_ids: Collection[int]) -> int:
    """Put these sessions (those still with the bot or waiting, not yet in a group)
    in flood group ``label``; how many were. A waiting one moves in the queue."""
    if not session_ids:
        return 0
    async with svc.transaction() as tx:
        marked = (
            await tx.session.execute(
                update(ChatSession)
                .where(
                    ChatSession.id.in_(sorted(session_ids)),
                    ChatSession.flood_group.is_(None),
                    ChatSession.state.in_(_OPEN),
                )
                .values(flood_group=label)
                .returning(ChatSession.id, ChatSession.state)
            )
        ).all()
        if any(state == SessionState.QUEUED.value for _, state in marked):
            tx.publish_after_commit(QUEUE_CHANNEL, QueueChanged(reason="flood"))
    return len(marked)


@dataclass(frozen=True)
class FloodGroup:
    """One flood's waiting sessions, as staff see them."""

    label: str
    waiting: int
    first_at: datetime
    last_at: datetime
    top_position: int  # where its first waiting session is in the queue

    @property
    def span_s(self) -> float:
        return max(0.0, (self.last_at - self.first_at).total_seconds())

    @property
    def summary(self) -> str:
        """Say "12 sessions from one source in 2 minutes"."""
        minutes = max(1, round(self.span_s / 60))
        span = "1 minute" if minutes == 1 else f"{minutes} minutes"
        return f"{self.waiting} sessions from one source in {span}"


class _Waiting(Protocol):
    """What ``flood_groups`` reads of a queue row (QueueRow has these)."""

    @property
    def position(self) -> int: ...

    @property
    def queued_at(self) -> datetime: ...

    @property
    def flood_group(self) -> str | None: ...


def flood_groups(rows: Iterable[_Waiting]) -> list[FloodGroup]:
    """The flood groups among the queue's rows, in queue order."""
    found: dict[str, list[_Waiting]] = {}
    for row in rows:
        if row.flood_group:
            found.setdefault(row.flood_group, []).append(row)
    return [
        FloodGroup(
            label=label,
            waiting=len(members),
            first_at=min(m.queued_at for m in members),
            last_at=max(m.queued_at for m in members),
            top_position=min(m.position for m in members),
        )
        for label, members in found.items()
    ]


async def clear_flood(svc: Services, *, label: str, staff_id: int) -> int:
    """Close every waiting session of flood group ``label``; how many were closed.

    Each person is given the calm ending with the helplines; one audit line
    (``flood_clear``) says who cleared how many. Sessions still with the bot are left
    alone: they are in nobody's queue."""
    async with svc.transaction() as tx:
        chats = list(
            (
                await tx.session.execute(
                    select(ChatSession)
                    .where(
                        ChatSession.flood_group == label,
                        ChatSession.state == SessionState.QUEUED.value,
                    )
                    .order_by(ChatSession.id)
                    .with_for_update()
                )
            ).scalars()
        )
        for chat in chats:
            await add_ending_notice(svc, tx, chat, "flood_cleared", CLEARED)
            await set_state(tx, chat, SessionState.CLOSED, closed_at=tx.now, checkin_at=None)
            await close_wait(tx, chat.id, outcome=OUTCOME_CLOSED)
        if chats:
            detail = f"{len(chats)} waiting sessions closed"
            audit(tx, FLOOD_CLEAR, staff_id=staff_id, detail=detail)
            tx.publish_after_commit(QUEUE_CHANNEL, QueueChanged(reason="flood_cleared"))
    return len(chats)
