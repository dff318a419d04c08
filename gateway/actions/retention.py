"""The retention purge: a conversation's words go ``HAVEN_RETENTION_DAYS`` after it closed.

What goes, per conversation (every column that may hold the person's words or
what staff wrote about them):

* every message (the person's, the bot's, counsellors' and system lines);
* private and handover notes and supervisors' whispers (``session_notes``);
* the wrap-up's free-text notes (its outcomes and assessed risk stay);
* ``bot_state`` (the conversation's state, which may hold their answers),
  ``escalation_match`` (their own words that raised the alarm), ``mood`` (what they
  said about how they felt) and the resume token's hash.

What stays, because the statistics count it (docs/statistics.md) and it says
nothing in anyone's words: the session's times, state, priority, risk level and
topic, escalation reason (a rule's name), counsellor, the queue waits, the
wrap-up's outcomes and risk level. Ratings are not linked to any conversation; the
words a person added to one go after the same number of days, the score stays.

A session still with the bot whose person has not been seen for a day more than
that is purged too (nobody ends those: the person just closed the tab).

Safe with several gateway processes: each batch claims its sessions with one
conditional ``UPDATE ... WHERE purged_at IS NULL``, so two processes never purge
(or audit) one session twice. Batches of ``PURGE_BATCH`` keep each transaction,
and the locks it holds, short; a year's backlog is many short transactions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, or_, select, update

from gateway.actions.audit import PURGE, audit
from gateway.models import ChatSession, Message, Rating, SessionNote, WrapUp
from gateway.scrub import forget_deleted_text
from gateway.services import Services
from gateway.types import SessionState

# Sessions per transaction: a few hundred messages each at most, deleted in tens of
# milliseconds, so live chats sharing the writer wait no longer than that.
PURGE_BATCH = 100
# The timer loop purges this often (seconds): a conversation's text goes within the
# hour after its retention ends, and the audit log gets a line an hour at most.
PURGE_EVERY_S = 3600.0

# A chat still with the bot counts as ended this long after the person was last
# seen (their widget refreshes it every heartbeat while it is open), and is purged
# the retention period after that.
BOT_CHAT_GONE = timedelta(days=1)

# Said on a staff page in place of a purged transcript.
PURGED_NOTICE = "This conversation's text was removed under the retention policy"


def retention_cutoff(svc: Services, now: datetime) -> datetime:
    """Conversations that closed before this have outlived their retention."""
    return now - timedelta(days=svc.settings.retention_days)


def _expired(cutoff: datetime) -> ColumnElement[bool]:
    gone_from_bot = and_(
        ChatSession.state == SessionState.BOT.value,
        ChatSession.user_seen_at < cutoff - BOT_CHAT_GONE,
    )
    return and_(ChatSession.purged_at.is_(None), or_(ChatSession.closed_at < cutoff, gone_from_bot))


@dataclass(frozen=True)
class PurgeResult:
    sessions: int = 0
    rating_comments: int = 0
    # The SQLite log was checkpointed and truncated (always True on PostgreSQL).
    files_clean: bool = True


async def _purge_batch(svc: Services, cutoff: datetime, staff_id: int | None) -> int:
    async with svc.read() as session:
        candidates = list(
            (
                await session.execute(
                    select(ChatSession.id)
                    .where(_expired(cutoff))
                    .order_by(ChatSession.id)
                    .limit(PURGE_BATCH)
                )
            ).scalars()
        )
    if not candidates:
        return 0
    async with svc.transaction() as tx:
        claimed = list(
            (
                await tx.session.execute(
                    update(ChatSession)
                    .where(ChatSession.id.in_(candidates), _expired(cutoff))
                    .values(
                        purged_at=tx.now,
                        bot_state=None,
                        escalation_match=None,
                        mood=None,
                        token_hash=None,
                        checkin_at=None,
                    )
                    .returning(ChatSession.id)
                    .execution_options(synchronize_session=False)
                )
            ).scalars()
        )
        if not claimed:
            return 0
        await tx.session.execute(delete(Message).where(Message.session_id.in_(claimed)))
        await tx.session.execute(delete(SessionNote).where(SessionNote.session_id.in_(claimed)))
        await tx.session.execute(
            update(WrapUp)
            .where(WrapUp.session_id.in_(claimed), WrapUp.notes != "")
            .values(notes="")
            .execution_options(synchronize_session=False)
        )
        detail = f"{len(claimed)} conversations closed before {cutoff:%Y-%m-%d %H:%M} UTC"
        audit(tx, PURGE, staff_id=staff_id, detail=detail)
    return len(claimed)


async def _forget_rating_comments(svc: Services, cutoff: datetime) -> int:
    async with svc.transaction() as tx:
        forgotten = (
            await tx.session.execute(
                update(Rating)
                .where(Rating.created_at < cutoff, Rating.comment.is_not(None))
                .values(comment=None)
                .returning(Rating.id)
                .execution_options(synchronize_session=False)
            )
        ).all()
    return len(forgotten)


async def purge_expired(
    svc: Services, *, staff_id: int | None = None, max_batches: int | None = None
) -> PurgeResult:
    """Remove the text of every conversation past its retention, batch by batch (at
    most ``max_batches`` of them: the timer loop takes a backlog a slice at a time),
    then make sure the deleted text has left the database files (gateway/scrub.py)."""
    cutoff = retention_cutoff(svc, svc.clock())
    sessions = batches = 0
    while max_batches is None or batches < max_batches:
        purged = await _purge_batch(svc, cutoff, staff_id)
        if not purged:
            break
        sessions, batches = sessions + purged, batches + 1
    comments = await _forget_rating_comments(svc, cutoff)
    clean = True
    if sessions or comments:
        clean = await forget_deleted_text(svc.db)
    return PurgeResult(sessions, comments, clean)


async def purged_at(svc: Services, *, session_id: int) -> datetime | None:
    """When the purge removed this conversation's text (None: it has not)."""
    async with svc.read() as session:
        chat = await session.get(ChatSession, session_id)
    return None if chat is None else chat.purged_at
