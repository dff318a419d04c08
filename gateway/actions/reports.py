"""What supervisors see of today: waiting times, outcomes (the live board is ``live_board``).

Reads only. "Today" starts at midnight in the helpline's time zone
(``HAVEN_TIMEZONE``). A wait is the time from entering the queue to the
latest claim; a chat released and claimed again counts once, at its latest
claim, with the whole time since it first queued. Wrap-up outcomes are counted
per outcome: a wrap-up with two outcomes counts once under each.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from gateway.models import ChatSession, WrapUp, WrapUpOutcome
from gateway.services import Services
from gateway.types import Priority, SessionState


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile (``q`` in 0..100): a value that really occurred."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class DayStats:
    day_start: datetime
    claimed: int
    median_wait_s: float | None
    p95_wait_s: float | None
    queued_by_priority: dict[Priority, int]
    abandoned: int
    claims_by_hour: list[tuple[int, int]]  # (local hour, claims), midnight to now
    # (outcome, wrap-ups recorded today with it), in the order of HAVEN_WRAPUP_OUTCOMES
    # and then any outcome no longer offered; only outcomes that occurred.
    outcomes: list[tuple[str, int]]


async def todays_stats(svc: Services) -> DayStats:
    now = svc.clock()
    hours = svc.settings.hours
    start = hours.start_of_day(now)
    async with svc.read() as session:
        chats = list(
            (
                await session.execute(
                    select(ChatSession).where(
                        or_(
                            ChatSession.queued_at >= start,
                            ChatSession.claimed_at >= start,
                            ChatSession.closed_at >= start,
                        )
                    )
                )
            ).scalars()
        )
        outcome_rows = (
            await session.execute(
                select(WrapUpOutcome.outcome, func.count())
                .join(WrapUp, WrapUp.session_id == WrapUpOutcome.session_id)
                .where(WrapUp.created_at >= start)
                .group_by(WrapUpOutcome.outcome)
            )
        ).all()
    outcome_counts = {outcome: int(count) for outcome, count in outcome_rows}
    order = {o: i for i, o in enumerate(svc.settings.wrapup_outcomes)}
    waits = [
        max(0.0, (c.claimed_at - c.queued_at).total_seconds())
        for c in chats
        if c.claimed_at is not None and c.queued_at is not None and c.claimed_at >= start
    ]
    queued = Counter(
        Priority(c.priority) for c in chats if c.queued_at is not None and c.queued_at >= start
    )
    claims = Counter(
        hours.local(c.claimed_at).hour
        for c in chats
        if c.claimed_at is not None and c.claimed_at >= start
    )
    return DayStats(
        day_start=start,
        claimed=len(waits),
        median_wait_s=percentile(waits, 50),
        p95_wait_s=percentile(waits, 95),
        queued_by_priority={p: queued.get(p, 0) for p in sorted(Priority, reverse=True)},
        abandoned=sum(
            1
            for c in chats
            if c.state == SessionState.ABANDONED
            and c.closed_at is not None
            and c.closed_at >= start
        ),
        claims_by_hour=[(h, claims.get(h, 0)) for h in range(hours.local(now).hour + 1)],
        outcomes=sorted(
            outcome_counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])
        ),
    )
