"""The queue-wait log: one ``queue_waits`` row per time a session waits in the queue.

A row is opened in the same transaction as the change of state that puts the
session in the queue, and closed in the one that takes it out. Statistics of waits
(docs/statistics.md) are computed from these rows only. Anyone writing rows
directly (the synthetic history) must use exactly this vocabulary:

``entered_at``  when the session entered the queue (UTC).
``cause``       why it entered: one of ``CAUSES``.
``priority``    gateway.types.Priority as an int (1 other, 2 requested, 3 crisis),
                the highest while the session waited.
``risk_level``  bot_engine.RiskLevel value (none, concern, high, imminent), the
                highest while the session waited.
``ended_at``    when the wait ended (null while waiting). For ``abandoned`` it is
                when the person was last seen (never before ``entered_at``), so that
                the time to abandon is how long they actually waited.
``outcome``     how it ended: one of ``OUTCOMES`` (null while waiting).
``staff_id``    who claimed it (``claimed`` only; null otherwise).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, literal, select, update

from bot_engine import RiskLevel
from gateway.models import ChatSession, QueueWait, UTCDateTime
from gateway.services import Transaction
from gateway.settings import WAIT_CLASSES as WAIT_CLASSES  # re-exported
from gateway.types import Priority

# Causes: why a session entered the queue.
CAUSE_ESCALATED = "escalated"  # from the bot: a request, the button, or a crisis
CAUSE_RELEASED = "released"  # a counsellor released the chat back to the queue
CAUSE_DROPPED = "dropped"  # the counsellor's connection was lost past the grace period
CAUSE_TRANSFER = "transfer"  # a transfer put it back (transfers are offers today: unused)
CAUSE_REQUEUED = "requeued"  # anything else: the counsellor signed out or was deactivated
CAUSES = (CAUSE_ESCALATED, CAUSE_RELEASED, CAUSE_DROPPED, CAUSE_TRANSFER, CAUSE_REQUEUED)

# Outcomes: how a wait ended.
OUTCOME_CLAIMED = "claimed"  # a counsellor took the chat (staff_id says who)
OUTCOME_ABANDONED = "abandoned"  # the person was gone longer than HAVEN_QUEUE_ABANDON_S
OUTCOME_LEFT = "left"  # the person ended the chat (End chat, Quick exit) while waiting
OUTCOME_ERASED = "erased"  # the person deleted the conversation while waiting
OUTCOME_HANDED_BACK = "handed_back"  # passed back to the bot without a claim
OUTCOME_CLOSED = "closed"  # anything else that closed the session while it waited
OUTCOMES = (
    OUTCOME_CLAIMED,
    OUTCOME_ABANDONED,
    OUTCOME_LEFT,
    OUTCOME_ERASED,
    OUTCOME_HANDED_BACK,
    OUTCOME_CLOSED,
)
# The person gave up before a claim: these count as abandoned in the statistics.
GAVE_UP = (OUTCOME_ABANDONED, OUTCOME_LEFT, OUTCOME_ERASED)

# Wait classes (gateway.settings.WAIT_CLASSES) are the keys of HAVEN_WAIT_TARGETS,
# most urgent first. A wait's class is its risk level when it has one, otherwise its
# priority (a crisis nobody gave a level is ``high``, as RiskLevel.of_crisis queues it).


def wait_class(priority: int, risk_level: str) -> str:
    """The target class of a wait with this priority and risk level."""
    level = RiskLevel.parse(risk_level)
    if level is not RiskLevel.NONE:
        return level.value
    if priority >= Priority.CRISIS:
        return "high"
    return "requested" if priority == Priority.REQUESTED else "other"


async def open_wait(tx: Transaction, chat: ChatSession, *, cause: str) -> None:
    """The session has just entered the queue: start its wait (closing any left open)."""
    await close_wait(tx, chat.id, outcome=OUTCOME_CLOSED)
    tx.session.add(
        QueueWait(
            session_id=chat.id,
            entered_at=tx.now,
            cause=cause,
            priority=int(chat.priority),
            risk_level=RiskLevel.parse(chat.risk_level).value,
        )
    )
    await tx.session.flush()


async def raise_wait(tx: Transaction, chat: ChatSession) -> None:
    """A waiting session's priority or risk went up: the open wait takes the highest."""
    row = (
        await tx.session.execute(
            select(QueueWait).where(QueueWait.session_id == chat.id, QueueWait.ended_at.is_(None))
        )
    ).scalar_one_or_none()
    if row is None:
        return
    row.priority = max(row.priority, int(chat.priority))
    if RiskLevel.parse(chat.risk_level).rank > RiskLevel.parse(row.risk_level).rank:
        row.risk_level = RiskLevel.parse(chat.risk_level).value


async def close_wait(
    tx: Transaction,
    session_id: int,
    *,
    outcome: str,
    staff_id: int | None = None,
    at: datetime | None = None,
) -> None:
    """End the session's open wait, if it has one: at ``at`` (never before it began),
    or now (``tx.now``)."""
    ended = literal(at or tx.now, UTCDateTime())
    await tx.session.execute(
        update(QueueWait)
        .where(QueueWait.session_id == session_id, QueueWait.ended_at.is_(None))
        .values(
            ended_at=case((QueueWait.entered_at > ended, QueueWait.entered_at), else_=ended),
            outcome=outcome,
            staff_id=staff_id,
        )
        .execution_options(synchronize_session=False)
    )
