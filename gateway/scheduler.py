"""Timers that live in the database, so they fire once and survive restarts.

Every process runs this loop; a conditional update decides which process
fires each timer (``fire_checkin``, ``return_dropped_chat``,
``abandon_waiting``), so several processes never fire one twice. The
conditions themselves are columns (``checkin_at``, ``staff.seen_at``,
``user_seen_at``), so a restart picks up where the last process stopped.
"""

from __future__ import annotations

import asyncio
import logging
import time

from gateway.actions.bot import due_checkins, fire_checkin
from gateway.actions.daily_figures import settle_days
from gateway.actions.handover import due_transfer_offers, expire_transfer_offer
from gateway.actions.redact_sweep import REDACT_BATCH, REDACT_EVERY_S, redact_closed
from gateway.actions.retention import PURGE_BATCH, PURGE_EVERY_S, purge_expired
from gateway.actions.signin import forget_expired_sessions
from gateway.actions.timers import (
    abandon_waiting,
    due_abandoned,
    due_dropped_chats,
    return_dropped_chat,
)
from gateway.runtime import Runtime
from gateway.scrub import pay_owed_checkpoint
from gateway.services import Services

log = logging.getLogger(__name__)

# How often due timers are looked for: a check-in a few seconds late is fine,
# and 5 s is small beside a 2-minute grace period or a 10-minute abandonment.
TIMER_POLL_S = 5.0
# Settled days' statistics are built ahead of the page that needs them
# (gateway/actions/daily_figures.py): a week of days a minute at most, the first
# round a little after the start so that starting stays light.
SETTLE_FIRST_S = 30.0
SETTLE_EVERY_S = 60.0
SETTLE_DAYS_PER_ROUND = 7


async def fire_due_timers(runtime: Runtime) -> int:
    """Fire every timer that is due now. Returns how many fired."""
    svc = runtime.svc
    fired = 0
    for session_id in await due_checkins(svc):
        turn = await fire_checkin(svc, session_id=session_id)
        if turn is not None:
            runtime.deliver(turn)
            fired += 1
    for session_id in await due_dropped_chats(svc):
        if await return_dropped_chat(svc, session_id=session_id):
            fired += 1
    for session_id in await due_abandoned(svc):
        if await abandon_waiting(svc, session_id=session_id):
            fired += 1
    for session_id in await due_transfer_offers(svc):
        if await expire_transfer_offer(svc, session_id=session_id):
            fired += 1
    await forget_expired_sessions(svc)
    return fired


# Retention batches per round of the timer loop (each a short transaction, tens of
# milliseconds): a round stays well under a second, and a backlog continues at the
# next round, TIMER_POLL_S later.
RETENTION_BATCHES_PER_ROUND = 10


class RetentionRounds:
    """The retention purge and the redaction sweep, each on its own rhythm, and a log
    checkpoint an erase still owes (docs/security.md, "Retention, erasure and
    redaction"). Every process runs them; each claims its sessions with a
    conditional update, so two processes never do one session twice."""

    def __init__(self) -> None:
        self.next_purge = self.next_sweep = 0.0

    async def run_due(self, svc: Services) -> None:
        # A backlog (the first start on a year of chats) is taken a slice a round, so
        # the other timers of this loop (check-ins, dropped counsellors) keep firing.
        now = time.monotonic()
        if now >= self.next_sweep:
            swept = await redact_closed(svc, max_batches=RETENTION_BATCHES_PER_ROUND)
            more = swept >= RETENTION_BATCHES_PER_ROUND * REDACT_BATCH
            self.next_sweep = now if more else now + REDACT_EVERY_S
        if now >= self.next_purge:
            purged = await purge_expired(svc, max_batches=RETENTION_BATCHES_PER_ROUND)
            more = purged.sessions >= RETENTION_BATCHES_PER_ROUND * PURGE_BATCH
            self.next_purge = now if more else now + PURGE_EVERY_S
        await pay_owed_checkpoint(svc.db)


async def run_timers(runtime: Runtime, poll_s: float = TIMER_POLL_S) -> None:
    rounds = RetentionRounds()
    next_settle = time.monotonic() + SETTLE_FIRST_S
    while True:
        try:
            await fire_due_timers(runtime)
            await rounds.run_due(runtime.svc)
            if time.monotonic() >= next_settle:
                next_settle = time.monotonic() + SETTLE_EVERY_S
                await settle_days(runtime.svc, limit=SETTLE_DAYS_PER_ROUND)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("timer loop failed; trying again")
        await asyncio.sleep(poll_s)
