"""The supervisors' live board, read once per change for all their connections.

The hub reads the queue once per change (``snapshot.py``); when supervisors
are watching, it then reads this board once more and hands the same board to
every supervisor's connection. Who is waiting comes from the queue snapshot
itself; the board adds every chat in progress (who holds it, how long since
each side last wrote) and who is on duty with their load.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ScalarSelect, func, select

from gateway.actions.snapshot import QueueSnapshot
from gateway.actions.staff import Colleague, colleagues_online
from gateway.actions.workspace import QueueRow
from gateway.broker.base import LocalNotice
from gateway.models import ChatSession, Message, Staff
from gateway.services import Services
from gateway.types import Priority, SenderKind, SessionState

# A person who has waited this long for a reply is highlighted on the board: long
# enough that a counsellor typing a careful answer is not flagged, short enough that
# a forgotten chat stands out within a couple of heartbeats.
REPLY_OVERDUE_S = 180


@dataclass(frozen=True)
class BoardChat:
    """A chat in progress as the board shows it."""

    session_id: int
    counsellor: str
    priority: Priority
    risk_level: str
    claimed_at: datetime | None
    # Seconds since each side last wrote (None: not yet).
    counsellor_quiet_s: int | None
    person_quiet_s: int | None
    # The person wrote last and has waited this long for a reply (None: they have not).
    awaiting_reply_s: int | None

    @property
    def overdue(self) -> bool:
        return self.awaiting_reply_s is not None and self.awaiting_reply_s >= REPLY_OVERDUE_S


@dataclass(frozen=True, eq=False)
class LiveBoard(LocalNotice):
    at: datetime
    service_open: bool
    waiting: list[QueueRow]
    chats: list[BoardChat]
    colleagues: list[Colleague]
    available: int
    on_duty: int
    max_chats: int

    def wait_s(self, row: QueueRow) -> int:
        return _seconds(self.at, row.queued_at) or 0

    @property
    def longest_wait_s(self) -> int | None:
        return max((self.wait_s(r) for r in self.waiting), default=None)


def _seconds(now: datetime, then: datetime | None) -> int | None:
    return None if then is None else max(0, int((now - then).total_seconds()))


def _last_from(sender: SenderKind) -> ScalarSelect[datetime]:
    return (
        select(func.max(Message.created_at))
        .where(Message.session_id == ChatSession.id, Message.sender == sender.value)
        .scalar_subquery()
    )


async def live_board(svc: Services, snapshot: QueueSnapshot) -> LiveBoard:
    """The board for this queue snapshot: one read of the live chats, one of who is on."""
    now = snapshot.at
    async with svc.read() as session:
        rows = (
            await session.execute(
                select(
                    ChatSession,
                    Staff.display_name,
                    _last_from(SenderKind.COUNSELLOR),
                    _last_from(SenderKind.USER),
                )
                .join(Staff, Staff.id == ChatSession.counsellor_id)
                .where(ChatSession.state == SessionState.LIVE.value)
                .order_by(ChatSession.claimed_at, ChatSession.id)
            )
        ).all()
    chats = []
    for chat, name, counsellor_at, person_at in rows:
        person_waits = person_at is not None and (
            counsellor_at is None or person_at > counsellor_at
        )
        chats.append(
            BoardChat(
                session_id=chat.id,
                counsellor=name,
                priority=Priority(chat.priority),
                risk_level=chat.risk_level,
                claimed_at=chat.claimed_at,
                counsellor_quiet_s=_seconds(now, counsellor_at),
                person_quiet_s=_seconds(now, person_at),
                awaiting_reply_s=_seconds(now, person_at) if person_waits else None,
            )
        )
    return LiveBoard(
        at=now,
        service_open=snapshot.load.service_open,
        # A claim between the two reads: the chat shows once, as live.
        waiting=[r for r in snapshot.rows if r.session_id not in {c.session_id for c in chats}],
        chats=chats,
        colleagues=await colleagues_online(svc),
        available=snapshot.available,
        on_duty=snapshot.on_duty,
        max_chats=svc.settings.counsellor_max_chats,
    )
