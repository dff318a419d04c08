"""Timers of the queue that live in the database: dropped counsellors and departed people.

Nothing is scheduled in memory. Each timer is a condition on columns the
running service keeps fresh, and firing it is one conditional ``UPDATE``:

* **Grace of a dropped counsellor.** Every open workspace of a counsellor
  (dashboard or conversation) refreshes ``staff.seen_at`` each heartbeat. A
  live chat whose counsellor has not been seen for ``counsellor_grace_s`` goes
  back to the front of the queue, and the person is told.
* **A person who has gone.** The widget's connection refreshes
  ``chat_sessions.user_seen_at`` each heartbeat. A queued session whose person
  has not been seen for ``queue_abandon_s`` becomes ``abandoned``.

Whichever process runs the update first wins (the row no longer matches for
the others), so a timer fires once, and a restart loses nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update

from gateway.actions.queue import return_to_queue
from gateway.actions.records import add_ending_notice, lock_session, set_state
from gateway.actions.waits import OUTCOME_ABANDONED, close_wait
from gateway.events import QUEUE_CHANNEL, QueueChanged
from gateway.models import ChatSession, Staff
from gateway.services import Services
from gateway.types import SessionState

DROPPED = (
    "Your counsellor's connection has dropped. You're at the front of the queue "
    "and the next counsellor will join you."
)
# Said when the bot script has no ``timed_out`` notice (with the helplines).
ABANDONED = (
    "You were away for a while, so this chat has closed. "
    "If you need someone, you can start a new chat at any time."
)


def _counsellor_gone(cutoff: datetime) -> ColumnElement[bool]:
    stale = select(Staff.id).where(or_(Staff.seen_at.is_(None), Staff.seen_at < cutoff))
    return or_(ChatSession.counsellor_id.is_(None), ChatSession.counsellor_id.in_(stale))


def _grace_cutoff(svc: Services, now: datetime) -> datetime:
    return now - timedelta(seconds=svc.settings.counsellor_grace_s)


def _abandon_cutoff(svc: Services, now: datetime) -> datetime:
    return now - timedelta(seconds=svc.settings.queue_abandon_s)


async def due_dropped_chats(svc: Services) -> list[int]:
    """Live chats whose counsellor has been gone longer than the grace period."""
    cutoff = _grace_cutoff(svc, svc.clock())
    async with svc.read() as session:
        rows = await session.execute(
            select(ChatSession.id).where(
                ChatSession.state == SessionState.LIVE.value, _counsellor_gone(cutoff)
            )
        )
        return list(rows.scalars())


async def return_dropped_chat(svc: Services, *, session_id: int) -> bool:
    """Fire one grace timer: back to the front of the queue, once, if still due.

    The chat is locked first and the condition checked under the lock, so the
    audit line's "release" still names the counsellor whose workspace was lost."""
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        due = (
            await tx.session.execute(
                select(ChatSession.id).where(
                    ChatSession.id == session_id,
                    ChatSession.state == SessionState.LIVE.value,
                    _counsellor_gone(_grace_cutoff(svc, tx.now)),
                )
            )
        ).scalar_one_or_none()
        if due is None:
            return False
        await return_to_queue(tx, chat, text=DROPPED, reason="dropped")
    return True


async def due_abandoned(svc: Services) -> list[int]:
    """Queued sessions whose person has been gone longer than ``queue_abandon_s``."""
    cutoff = _abandon_cutoff(svc, svc.clock())
    async with svc.read() as session:
        rows = await session.execute(
            select(ChatSession.id).where(
                ChatSession.state == SessionState.QUEUED.value, ChatSession.user_seen_at < cutoff
            )
        )
        return list(rows.scalars())


async def abandon_waiting(svc: Services, *, session_id: int) -> bool:
    """Fire one abandonment timer: the queued session becomes ``abandoned``, once."""
    async with svc.transaction() as tx:
        taken = (
            await tx.session.execute(
                update(ChatSession)
                .where(
                    ChatSession.id == session_id,
                    ChatSession.state == SessionState.QUEUED.value,
                    ChatSession.user_seen_at < _abandon_cutoff(svc, tx.now),
                )
                .values(state=SessionState.ABANDONED.value, closed_at=tx.now, checkin_at=None)
                .returning(ChatSession.id)
            )
        ).scalar_one_or_none()
        if taken is None:
            return False
        chat = await lock_session(tx, session_id)
        await tx.session.refresh(chat)
        await add_ending_notice(svc, tx, chat, "timed_out", ABANDONED)
        await set_state(tx, chat, SessionState.ABANDONED)
        # The wait ended when the person was last seen, not when the timer noticed.
        await close_wait(tx, chat.id, outcome=OUTCOME_ABANDONED, at=chat.user_seen_at)
        tx.publish_after_commit(QUEUE_CHANNEL, QueueChanged(session_id=chat.id, reason="abandoned"))
    return True
