"""The person's optional rating after a chat with a counsellor, and what supervisors see.

A rating is stored with no link to its session or its counsellor (``Rating`` has
none): only the score, the words the person chose to add, the language and when.
The session keeps only that it was rated (``ChatSession.rated``), so that it is
rated once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from gateway.actions.records import lock_session
from gateway.models import Rating
from gateway.redaction import redact
from gateway.services import Services
from gateway.types import SessionState

SCORES = range(1, 6)  # 1 (bad) .. 5 (good), as the widget words them
COMMENT_MAX = 1000  # characters; the protocol's ``rating`` frame allows the same
RECENT_COMMENTS = 10  # on the supervisor page: enough to get a feel, not a log
SUMMARY_DAYS = 30  # the supervisor page's window


class RatingRefused(ValueError):
    """The session cannot be rated: no counsellor, not ended, or rated already."""


async def rate_session(svc: Services, *, session_id: int, score: int, comment: str | None) -> None:
    """Store the person's rating of a chat with a counsellor that has ended, once."""
    if score not in SCORES:
        raise RatingRefused("The score must be from 1 to 5.")
    words = (comment or "").strip() or None
    if words is not None and len(words) > COMMENT_MAX:
        raise RatingRefused(f"A comment can be at most {COMMENT_MAX} characters.")
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        if chat.claimed_at is None:
            raise RatingRefused("Only a chat with a counsellor can be rated.")
        if not SessionState(chat.state).finished:
            raise RatingRefused("A chat can be rated once it has ended.")
        if chat.rated:
            raise RatingRefused("This chat has been rated already.")
        chat.rated = True
        if words is not None and svc.settings.redact:
            words = redact(words)  # the chat has closed: no contact details kept (HAVEN_REDACT)
        tx.session.add(Rating(score=score, comment=words, locale=chat.locale, created_at=tx.now))


@dataclass(frozen=True)
class RatingComment:
    score: int
    comment: str
    at: datetime


@dataclass(frozen=True)
class RatingSummary:
    """Ratings of the last ``days`` days, for supervisors."""

    days: int
    count: int
    average: float | None
    # score -> how many, for every score 1..5 (zero included)
    distribution: dict[int, int]
    recent: tuple[RatingComment, ...]


async def ratings_summary(svc: Services, *, days: int = SUMMARY_DAYS) -> RatingSummary:
    since = svc.clock() - timedelta(days=days)
    async with svc.read() as session:
        rows = (
            await session.execute(
                select(Rating.score, func.count())
                .where(Rating.created_at >= since)
                .group_by(Rating.score)
            )
        ).all()
        comments = (
            await session.execute(
                select(Rating.score, Rating.comment, Rating.created_at)
                .where(Rating.created_at >= since, Rating.comment.is_not(None))
                .order_by(Rating.created_at.desc(), Rating.id.desc())
                .limit(RECENT_COMMENTS)
            )
        ).all()
    counts = Counter({int(score): int(n) for score, n in rows})
    distribution = {score: counts.get(score, 0) for score in SCORES}
    total = sum(distribution.values())
    average = sum(s * n for s, n in distribution.items()) / total if total else None
    recent = tuple(RatingComment(int(s), str(c), at) for s, c, at in comments if c)
    return RatingSummary(days, total, average, distribution, recent)


__all__ = [
    "COMMENT_MAX",
    "RatingComment",
    "RatingRefused",
    "RatingSummary",
    "rate_session",
    "ratings_summary",
]
