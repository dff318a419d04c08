"""Timers that live in the database, so they fire once and survive restarts.

Every process runs this loop; a conditional update decides which process
fires each timer (``take_checkin``), so several processes never fire one twice.
"""

from __future__ import annotations

import asyncio
import logging

from bot_engine import TimerFired
from gateway.actions.bot import due_checkins, take_checkin
from gateway.runtime import Runtime

log = logging.getLogger(__name__)

# How often due timers are looked for: a check-in a few seconds late is fine.
TIMER_POLL_S = 5.0


async def fire_due_timers(runtime: Runtime) -> int:
    """Fire every timer that is due now. Returns how many fired."""
    fired = 0
    for session_id in await due_checkins(runtime.svc):
        if await take_checkin(runtime.svc, session_id=session_id):
            await runtime.bot_turn(session_id, TimerFired(kind="checkin"))
            fired += 1
    return fired


async def run_timers(runtime: Runtime, poll_s: float = TIMER_POLL_S) -> None:
    while True:
        try:
            await fire_due_timers(runtime)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("timer loop failed; trying again")
        await asyncio.sleep(poll_s)
