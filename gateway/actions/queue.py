"""The queue: escalation into it, the order of it, claiming from it, and leaving it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.actions.records import add_system_message, lock_session, set_state
from gateway.events import QUEUE_CHANNEL, QueueChanged
from gateway.models import ChatSession, Message, Staff
from gateway.queue_order import QueueEntry, estimate_wait_s, order_queue
from gateway.services import Services, Transaction
from gateway.types import Priority, SessionState


async def escalate(
    tx: Transaction, chat: ChatSession, *, priority: Priority, reason: str, matched: str = ""
) -> bool:
    """Put a bot session in the queue, or raise a queued one's priority. True if changed."""
    state = SessionState(chat.state)
    if state == SessionState.BOT:
        await set_state(
            tx,
            chat,
            SessionState.QUEUED,
            priority=int(priority),
            escalation_reason=reason[:120],
            escalation_match=matched[:200] or None,
            queued_at=tx.now,
            queue_front=False,
            checkin_at=None,
        )
    elif state == SessionState.QUEUED and priority > chat.priority:
        chat.priority = int(priority)
        chat.escalation_reason = reason[:120]
        chat.escalation_match = matched[:200] or None
    else:
        return False
    tx.publish_after_commit(QUEUE_CHANNEL, QueueChanged(session_id=chat.id, reason="escalated"))
    return True


async def raise_priority(svc: Services, *, session_id: int, reason: str, matched: str) -> bool:
    """A waiting person wrote something that matches a crisis trigger: move them up."""
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        return await escalate(tx, chat, priority=Priority.CRISIS, reason=reason, matched=matched)


async def counsellors_available(session: AsyncSession, now: datetime, fresh_s: float) -> int:
    """Active counsellors who said they are available and whose dashboard is open."""
    return int(
        (
            await session.execute(
                select(func.count(Staff.id)).where(
                    Staff.active.is_(True),
                    Staff.available.is_(True),
                    Staff.seen_at >= now - timedelta(seconds=fresh_s),
                )
            )
        ).scalar_one()
    )


async def _queued(session: AsyncSession) -> list[ChatSession]:
    result = await session.execute(
        select(ChatSession).where(ChatSession.state == SessionState.QUEUED.value)
    )
    return list(result.scalars())


def _entry(chat: ChatSession) -> QueueEntry:
    assert chat.queued_at is not None
    return QueueEntry(chat.id, Priority(chat.priority), chat.queued_at, chat.queue_front)


async def ordered_queue(svc: Services) -> list[ChatSession]:
    """Waiting sessions, next first."""
    now = svc.clock()
    async with svc.read() as session:
        chats = {c.id: c for c in await _queued(session)}
    ordered = order_queue((_entry(c) for c in chats.values()), now, svc.settings.queue_ageing_s)
    return [chats[e.session_id] for e in ordered]


@dataclass(frozen=True)
class QueuePosition:
    position: int
    estimated_wait_s: int | None
    counsellors_available: int


async def queue_position(svc: Services, *, session_id: int) -> QueuePosition | None:
    """Where a waiting person stands, with an estimate from the last hour's claims."""
    now = svc.clock()
    async with svc.read() as session:
        chats = await _queued(session)
        claims = (
            await session.execute(
                select(func.count(ChatSession.id)).where(
                    ChatSession.claimed_at >= now - timedelta(hours=1)
                )
            )
        ).scalar_one()
        available = await counsellors_available(session, now, svc.settings.heartbeat_s * 3)
    ordered = order_queue((_entry(c) for c in chats), now, svc.settings.queue_ageing_s)
    for index, entry in enumerate(ordered, start=1):
        if entry.session_id == session_id:
            return QueuePosition(index, estimate_wait_s(index, int(claims)), available)
    return None


@dataclass(frozen=True)
class ClaimResult:
    won: bool
    session_id: int
    reason: str = ""  # "taken", "at_capacity", "not_queued", "inactive"
    owner_name: str | None = None


async def claim_session(svc: Services, *, session_id: int, staff_id: int) -> ClaimResult:
    """Take a queued session. Exactly one of any number of concurrent claims wins."""
    async with svc.transaction() as tx:
        staff = (
            await tx.session.execute(select(Staff).where(Staff.id == staff_id).with_for_update())
        ).scalar_one_or_none()
        if staff is None or not staff.active:
            return ClaimResult(False, session_id, "inactive")
        live = (
            await tx.session.execute(
                select(func.count(ChatSession.id)).where(
                    ChatSession.counsellor_id == staff_id,
                    ChatSession.state == SessionState.LIVE.value,
                )
            )
        ).scalar_one()
        if live >= svc.settings.counsellor_max_chats:
            return ClaimResult(False, session_id, "at_capacity")
        won = (
            await tx.session.execute(
                update(ChatSession)
                .where(ChatSession.id == session_id, ChatSession.state == SessionState.QUEUED.value)
                .values(
                    state=SessionState.LIVE.value,
                    counsellor_id=staff_id,
                    claimed_at=tx.now,
                    queue_front=False,
                )
                .returning(ChatSession.id)
            )
        ).scalar_one_or_none()
        if won is None:
            owner = (
                await tx.session.execute(
                    select(Staff.display_name)
                    .join(ChatSession, ChatSession.counsellor_id == Staff.id)
                    .where(ChatSession.id == session_id, ChatSession.state == "live")
                )
            ).scalar_one_or_none()
            return ClaimResult(False, session_id, "taken" if owner else "not_queued", owner)
        chat = await lock_session(tx, session_id)
        await tx.session.refresh(chat)
        await add_system_message(tx, chat, f"{staff.display_name} has joined the chat.")
        await set_state(tx, chat, SessionState.LIVE, counsellor=staff)
        tx.publish_after_commit(QUEUE_CHANNEL, QueueChanged(session_id=chat.id, reason="claimed"))
    return ClaimResult(True, session_id, owner_name=staff.display_name)


async def take_next(svc: Services, *, staff_id: int) -> ClaimResult | None:
    """Claim the top of the queue; if someone is faster, try the next one."""
    for chat in await ordered_queue(svc):
        result = await claim_session(svc, session_id=chat.id, staff_id=staff_id)
        if result.won or result.reason in ("at_capacity", "inactive"):
            return result
    return None


async def release_session(svc: Services, *, session_id: int, staff_id: int) -> bool:
    """The counsellor hands the person back to the front of the queue."""
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        if chat.state != SessionState.LIVE or chat.counsellor_id != staff_id:
            return False
        await add_system_message(
            tx,
            chat,
            "Your counsellor has had to step away. You're at the front of the queue "
            "and the next counsellor will join you.",
        )
        await set_state(tx, chat, SessionState.QUEUED, counsellor_id=None, queue_front=True)
        tx.publish_after_commit(QUEUE_CHANNEL, QueueChanged(session_id=chat.id, reason="released"))
    return True


async def end_session(svc: Services, *, session_id: int, staff_id: int) -> bool:
    """The counsellor ends the chat."""
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        if chat.state != SessionState.LIVE or chat.counsellor_id != staff_id:
            return False
        await add_system_message(
            tx,
            chat,
            "The counsellor has ended the chat. Thank you for talking with us. "
            "If you need someone again, you can start a new chat at any time.",
        )
        await set_state(tx, chat, SessionState.CLOSED, closed_at=tx.now)
        tx.publish_after_commit(QUEUE_CHANNEL, QueueChanged(session_id=chat.id, reason="ended"))
    return True


@dataclass(frozen=True)
class QueueRow:
    """One waiting person as a counsellor's dashboard shows them."""

    session_id: int
    position: int
    priority: Priority
    reason: str | None
    matched: str | None
    mood: str | None
    locale: str
    queued_at: datetime
    front: bool
    preview: str


PREVIEW_CHARS = 140


async def queue_rows(svc: Services) -> list[QueueRow]:
    """The queue in order, with a short preview of what each person last wrote."""
    chats = await ordered_queue(svc)
    previews: dict[int, str] = {}
    if chats:
        async with svc.read() as session:
            for chat in chats:
                text = (
                    await session.execute(
                        select(Message.text)
                        .where(Message.session_id == chat.id, Message.sender == "user")
                        .order_by(Message.seq.desc())
                        .limit(1)
                    )
                ).scalar_one_or_none()
                previews[chat.id] = (text or "")[:PREVIEW_CHARS]
    return [
        QueueRow(
            session_id=chat.id,
            position=index,
            priority=Priority(chat.priority),
            reason=chat.escalation_reason,
            matched=chat.escalation_match,
            mood=chat.mood,
            locale=chat.locale,
            queued_at=chat.queued_at or chat.created_at,
            front=chat.queue_front,
            preview=previews.get(chat.id, ""),
        )
        for index, chat in enumerate(chats, start=1)
    ]


async def live_sessions_of(svc: Services, *, staff_id: int) -> list[ChatSession]:
    async with svc.read() as session:
        result = await session.execute(
            select(ChatSession)
            .where(ChatSession.counsellor_id == staff_id, ChatSession.state == "live")
            .order_by(ChatSession.claimed_at)
        )
        return list(result.scalars())


async def session_for_staff(svc: Services, *, session_id: int) -> ChatSession | None:
    async with svc.read() as session:
        return await session.get(ChatSession, session_id)
