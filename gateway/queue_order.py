"""The order of the queue, as a pure function (no database, no clock).

Rule (docs/architecture.md, "Queue order"):

1. A person in imminent danger comes first, whatever else is waiting.
2. Then a session someone released or who lost their counsellor.
3. Then crisis sessions by risk level (high, then concern), oldest first within a
   level. Crisis always comes before the rest.
4. Then everyone else by effective priority, oldest first. A session that is
   not a crisis gains one priority level for every ``ageing_s`` it has
   waited, up to "asked for a person", so nobody is starved by later
   arrivals, and no ageing ever overtakes a crisis.

Sessions of a flood group (one source making sessions beyond
HAVEN_FLOOD_SESSIONS, gateway/abuse/floods.py) come after every other waiting
session, whatever they claim, and in the order above among themselves. The
first session of a flood's window is never in the group, so a real person
behind a shared address keeps their place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from gateway.types import Priority

IMMINENT_RANK = 3


@dataclass(frozen=True)
class QueueEntry:
    session_id: int
    priority: Priority
    queued_at: datetime
    front: bool = False
    # bot_engine.RiskLevel.rank: 3 imminent, 2 high, 1 concern, 0 none
    risk_rank: int = 0
    # The flood group's label (chat_sessions.flood_group), or None.
    flood_group: str | None = None


def effective_priority(entry: QueueEntry, now: datetime, ageing_s: float) -> int:
    if entry.priority >= Priority.CRISIS:
        return int(Priority.CRISIS)
    waited = max(0.0, (now - entry.queued_at).total_seconds())
    steps = int(waited // ageing_s) if ageing_s > 0 else 0
    return min(int(Priority.REQUESTED), int(entry.priority) + steps)


def order_queue(entries: Iterable[QueueEntry], now: datetime, ageing_s: float) -> list[QueueEntry]:
    """Entries in the order counsellors should take them (first = next)."""
    return sorted(
        entries,
        key=lambda e: (
            e.flood_group is not None,
            e.risk_rank < IMMINENT_RANK,
            not e.front,
            -effective_priority(e, now, ageing_s),
            -e.risk_rank,
            e.queued_at,
            e.session_id,
        ),
    )
