"""The queue: escalation into it, the order of it, claiming from it, and leaving it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, case, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot_engine import RiskLevel, RiskTopic, TriggerMatch
from gateway.actions.audit import CLAIM, RELEASE, audit
from gateway.actions.records import add_system_message, lock_session, set_state
from gateway.actions.waits import (
    CAUSE_DROPPED,
    CAUSE_ESCALATED,
    CAUSE_RELEASED,
    CAUSE_REQUEUED,
    OUTCOME_CLAIMED,
    close_wait,
    open_wait,
    raise_wait,
)
from gateway.events import QUEUE_CHANNEL, QueueChanged
from gateway.metrics import open_wait_began
from gateway.models import ChatSession, Staff
from gateway.queue_order import QueueEntry, order_queue
from gateway.services import Services, Transaction
from gateway.types import Priority, SessionState, StaffRole


async def escalate(
    tx: Transaction,
    chat: ChatSession,
    *,
    priority: Priority,
    reason: str,
    matched: str = "",
    level: RiskLevel = RiskLevel.NONE,
    topic: RiskTopic | None = None,
) -> bool:
    """Put a bot session in the queue, or raise a waiting one. True if anything changed.

    A waiting session's priority and risk level only ever go up: a later message that
    reads as less urgent never lowers them (docs/safeguarding.md, "Levels").
    """
    state = SessionState(chat.state)
    if state == SessionState.BOT:
        await set_state(
            tx,
            chat,
            SessionState.QUEUED,
            priority=int(priority),
            escalation_reason=reason[:120],
            escalation_match=matched[:200] or None,
            risk_level=level.value,
            risk_topic=topic.value if topic else None,
            queued_at=tx.now,
            queue_front=False,
            checkin_at=None,
        )
        await open_wait(tx, chat, cause=CAUSE_ESCALATED)
    elif state == SessionState.QUEUED and (
        priority > chat.priority or level.rank > RiskLevel.parse(chat.risk_level).rank
    ):
        chat.priority = max(int(priority), chat.priority)
        chat.escalation_reason = reason[:120]
        chat.escalation_match = matched[:200] or None
        if level.rank > RiskLevel.parse(chat.risk_level).rank:
            chat.risk_level = level.value
            chat.risk_topic = topic.value if topic else chat.risk_topic
        await raise_wait(tx, chat)
    else:
        return False
    tx.publish_after_commit(QUEUE_CHANNEL, QueueChanged(session_id=chat.id, reason="escalated"))
    return True


async def raise_risk(svc: Services, *, session_id: int, match: TriggerMatch) -> bool:
    """A waiting person wrote something that matches a crisis trigger: move them up."""
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        return await escalate_for(tx, chat, match)


async def escalate_for(tx: Transaction, chat: ChatSession, match: TriggerMatch) -> bool:
    """``escalate`` with what the detector found in a crisis message."""
    return await escalate(
        tx,
        chat,
        priority=Priority.CRISIS,
        reason=match.rule,
        matched=match.matched,
        level=match.level.of_crisis,
        topic=match.topic,
    )


@dataclass(frozen=True)
class Availability:
    """Counsellors on duty and the chats they can take now, counted in one query.

    ``on_duty``: active staff with the counsellor role (not supervisors or admins)
    who said they are available and whose workspace was seen within the
    freshness window. ``free``: those of them holding fewer live chats than the
    chat limit. ``free_places``: how many more chats they can take between them.
    """

    on_duty: int
    free: int
    free_places: int


async def availability(
    session: AsyncSession, now: datetime, *, fresh_s: float, max_chats: int
) -> Availability:
    """Who is on duty and who of them is free, as of ``now``."""
    held = (
        select(ChatSession.counsellor_id, func.count(ChatSession.id).label("n"))
        .where(ChatSession.state == SessionState.LIVE.value)
        .group_by(ChatSession.counsellor_id)
        .subquery()
    )
    chats = func.coalesce(held.c.n, 0)
    limit = literal(max_chats, Integer)
    row = (
        await session.execute(
            select(
                func.count(Staff.id),
                func.coalesce(func.sum(case((chats < limit, 1), else_=0)), 0),
                func.coalesce(func.sum(case((chats < limit, limit - chats), else_=0)), 0),
            )
            .select_from(Staff)
            .outerjoin(held, held.c.counsellor_id == Staff.id)
            .where(
                Staff.active.is_(True),
                Staff.role == StaffRole.COUNSELLOR.value,
                Staff.available.is_(True),
                Staff.seen_at >= now - timedelta(seconds=fresh_s),
            )
        )
    ).one()
    return Availability(on_duty=int(row[0]), free=int(row[1]), free_places=int(row[2]))


async def _queued(session: AsyncSession) -> list[ChatSession]:
    result = await session.execute(
        select(ChatSession).where(ChatSession.state == SessionState.QUEUED.value)
    )
    return list(result.scalars())


def queue_entry(chat: ChatSession) -> QueueEntry:
    """A waiting session as the queue order sees it."""
    return QueueEntry(
        chat.id,
        Priority(chat.priority),
        chat.queued_at or chat.created_at,
        chat.queue_front,
        RiskLevel.parse(chat.risk_level).rank,
        chat.flood_group,
    )


async def ordered_queue(svc: Services) -> list[ChatSession]:
    """Waiting sessions, next first."""
    now = svc.clock()
    async with svc.read() as session:
        chats = {c.id: c for c in await _queued(session)}
    ordered = order_queue(
        (queue_entry(c) for c in chats.values()), now, svc.settings.queue_ageing_s
    )
    return [chats[e.session_id] for e in ordered]


@dataclass(frozen=True)
class ClaimResult:
    won: bool
    session_id: int
    reason: str = ""  # "taken", "at_capacity", "not_queued", "inactive"
    owner_name: str | None = None


async def claim_session(
    svc: Services, *, session_id: int, staff_id: int, how: str | None = None
) -> ClaimResult:
    """Take a queued session. Exactly one of any number of concurrent claims wins.

    ``how``: the audit line's detail ("take next"); a plain claim has none.
    """
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
        # Claiming is a sign of life: the grace period of a dropped workspace counts from here.
        staff.seen_at = tx.now
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
        entered_at = await open_wait_began(tx.session, chat.id) if svc.metrics else None
        await close_wait(tx, chat.id, outcome=OUTCOME_CLAIMED, staff_id=staff_id)
        audit(tx, CLAIM, staff_id=staff_id, session_id=chat.id, detail=how)
        tx.publish_after_commit(QUEUE_CHANNEL, QueueChanged(session_id=chat.id, reason="claimed"))
    if svc.metrics is not None:
        svc.metrics.wait_claimed(priority=chat.priority, entered_at=entered_at, claimed_at=tx.now)
    return ClaimResult(True, session_id, owner_name=staff.display_name)


async def take_next(svc: Services, *, staff_id: int) -> ClaimResult | None:
    """Claim the top of the queue; if someone is faster, try the next one."""
    for chat in await ordered_queue(svc):
        result = await claim_session(svc, session_id=chat.id, staff_id=staff_id, how="take next")
        if result.won or result.reason in ("at_capacity", "inactive"):
            return result
    return None


# The audit line's detail for each way a chat goes back to the queue.
_RETURNED = {
    "released": "released by the counsellor",
    "dropped": "the counsellor's workspace was gone past the grace period",
}


async def return_to_queue(
    tx: Transaction,
    chat: ChatSession,
    *,
    text: str,
    reason: str,
    cause: str | None = None,
    why: str | None = None,
) -> None:
    """Put a live chat back at the front of the queue and tell the person why.

    A new wait begins (gateway/actions/waits.py): its cause is ``cause``, or the
    reason when that is "dropped" or "released". The audit log gets a "release"
    line for the counsellor who held it, its detail ``why`` or the reason in words.
    """
    audit(
        tx,
        RELEASE,
        staff_id=chat.counsellor_id,
        session_id=chat.id,
        detail=why or _RETURNED.get(reason, reason),
    )
    await add_system_message(tx, chat, text)
    await set_state(tx, chat, SessionState.QUEUED, counsellor_id=None, queue_front=True)
    if cause is None:
        cause = {"dropped": CAUSE_DROPPED, "released": CAUSE_RELEASED}.get(reason, CAUSE_REQUEUED)
    await open_wait(tx, chat, cause=cause)
    tx.publish_after_commit(QUEUE_CHANNEL, QueueChanged(session_id=chat.id, reason=reason))


async def return_all_to_queue(tx: Transaction, *, staff_id: int, text: str) -> list[int]:
    """Every live chat of one counsellor back to the front (sign-out, deactivation)."""
    result = await tx.session.execute(
        select(ChatSession)
        .where(
            ChatSession.counsellor_id == staff_id,
            ChatSession.state == SessionState.LIVE.value,
        )
        .order_by(ChatSession.id)
        .with_for_update()
    )
    chats = list(result.scalars())
    for chat in chats:
        await return_to_queue(
            tx,
            chat,
            text=text,
            reason="released",
            cause=CAUSE_REQUEUED,
            why="signed out or deactivated: every chat returned",
        )
    return [chat.id for chat in chats]


RELEASED = (
    "Your counsellor has had to step away. You're at the front of the queue "
    "and the next counsellor will join you."
)


async def release_session(svc: Services, *, session_id: int, staff_id: int) -> bool:
    """The counsellor hands the person back to the front of the queue."""
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        if chat.state != SessionState.LIVE or chat.counsellor_id != staff_id:
            return False
        await return_to_queue(tx, chat, text=RELEASED, reason="released")
    return True
