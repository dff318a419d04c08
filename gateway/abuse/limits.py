"""Per-address and per-session limits that survive reconnects (the ``limits`` library).

A connection's own limits (gateway/live/socket.py) reset when it reconnects; these
do not. They are counted in this process's memory with ``memory://`` and in Redis
with ``redis://`` (HAVEN_BROKER_URL), so that several gateway processes share the
counts. A client address is never a key: it is an HMAC of the address under the
secret key (``address_key``), kept only in memory or in Redis keys that expire with
their window. Counts of events (sessions, messages, resumes) use the moving window:
exact, one timestamp per event, at most a limit's amount of them per key. Catch-up
lines use the sliding-window counter: two counters per key whatever the cost of a
hit, so a resume's thousands of lines cost no more to count than one message (it is
approximate near a window's edge, which a budget of thousands does not mind).

If Redis cannot be reached the limits let everything through and say so in the
log: a person in crisis must never be refused because a counter is down.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from limits import RateLimitItem, parse, parse_many
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import (
    MovingWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)

from gateway.abuse.memory import PacedMemoryStorage
from gateway.settings import Settings

log = logging.getLogger(__name__)


class Limit(StrEnum):
    """What is counted; each names its setting (``HAVEN_LIMIT_<NAME>``)."""

    SESSIONS_PER_ADDRESS = "sessions_per_address"
    ESCALATIONS_PER_ADDRESS = "escalations_per_address"
    MESSAGES_PER_ADDRESS = "messages_per_address"
    MESSAGES_PER_SESSION = "messages_per_session"
    RESUMES_PER_ADDRESS = "resumes_per_address"
    RESUMES_PER_SESSION = "resumes_per_session"
    CATCHUP_LINES_PER_ADDRESS = "catchup_lines_per_address"
    CATCHUP_LINES_PER_SESSION = "catchup_lines_per_session"
    # Service-wide: new sessions above this rate ask for a proof of work (challenge).
    SESSIONS_UNDER_LOAD = "challenge_load"
    # Per address: sessions beyond it within its window are grouped as a flood.
    FLOOD = "flood_sessions"


# The limits whose cost is a number of transcript lines (see the module's docstring).
COUNTED_LINES = frozenset({Limit.CATCHUP_LINES_PER_ADDRESS, Limit.CATCHUP_LINES_PER_SESSION})


def parse_limit(name: str, raw: str) -> tuple[RateLimitItem, ...]:
    """``"10/minute;60/hour"`` as rate items; ValueError if any amount is below 1
    (a limit of 0 would refuse a person's very first session or message)."""
    try:
        items = tuple(parse_many(raw))
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from exc
    if not items or any(item.amount < 1 for item in items):
        raise ValueError(f"{name}: every limit must allow at least 1, as in '10/minute'")
    return items


def address_key(secret: str, address: str) -> str:
    """An address as a key: HMAC-SHA256 under the secret key, never the address."""
    digest = hmac.new(secret.encode(), b"address:" + address.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class Refused:
    """Over a limit: which one, and in how many seconds to try again (at least 1)."""

    limit: Limit
    retry_after_s: int


def storage_for(settings: Settings) -> Storage:
    """Memory for one process; Redis (redis-py, keys under the channel prefix) when
    the broker is Redis, so every process counts the same."""
    url = settings.broker_url
    if url.startswith(("redis://", "rediss://")):
        return RedisStorage(
            "async+" + url,
            implementation="redispy",
            key_prefix=settings.broker_channel_prefix + "limits",
        )
    return PacedMemoryStorage()  # the library's own, with a cheap expiry


class AbuseLimits:
    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        self.settings = settings
        self.storage = storage if storage is not None else storage_for(settings)
        self.exact = MovingWindowRateLimiter(self.storage)
        self.counter = SlidingWindowCounterRateLimiter(self.storage)
        self.items = {
            limit: parse_limit(limit.value, getattr(settings, _setting(limit))) for limit in Limit
        }

    def strategy(self, limit: Limit) -> RateLimiter:
        return self.counter if limit in COUNTED_LINES else self.exact

    def address(self, address: str) -> str:
        return address_key(self.settings.secret_key, address)

    async def hit(self, limit: Limit, key: str, *, cost: int = 1) -> Refused | None:
        """Count ``cost`` against ``limit`` for ``key`` (an address key, a session id)."""
        return await self.hit_all([(limit, key, cost)])

    async def hit_all(self, hits: Sequence[tuple[Limit, str, int]]) -> Refused | None:
        """Count several ``(limit, key, cost)`` in turn, stopping at the first refusal.

        Each count is one atomic step of the storage (a lock in memory, a script in
        Redis), so many connections arriving at once cannot all pass a test before any
        of them is counted. A refused step counts nothing; the steps before it stay
        counted (a refused attempt still used them). A cost above a limit's amount
        counts as the amount, so one very long transcript can still be read back
        once per window."""
        try:
            for limit, key, cost in hits:
                for item in self.items[limit]:
                    amount = min(cost, item.amount)
                    if amount and not await self.strategy(limit).hit(
                        item, limit.value, key, cost=amount
                    ):
                        return await self._refused(limit, item, key)
        except Exception:  # fail open: never refuse a person for a counter
            log.warning("abuse limits unavailable; %d limits not counted", len(hits))
        return None

    async def over(self, limit: Limit, key: str) -> bool:
        """Whether ``key`` has used all of ``limit`` (without counting anything)."""
        try:
            for item in self.items[limit]:
                if not await self.strategy(limit).test(item, limit.value, key):
                    return True
            return False
        except Exception:  # fail open, as above
            log.warning("abuse limits unavailable; %s not read", limit.value)
            return False

    async def first_use(self, key: str, ttl_s: int) -> bool:
        """True the first time ``key`` is used within ``ttl_s`` seconds, False after."""
        try:
            return await self.exact.hit(parse(f"1/{ttl_s} seconds"), "once", key)
        except Exception:  # fail open: never refuse a person for a counter
            log.warning("abuse limits unavailable; a single-use key not checked")
            return True

    async def _refused(self, limit: Limit, item: RateLimitItem, key: str) -> Refused:
        stats = await self.strategy(limit).get_window_stats(item, limit.value, key)
        wait = stats.reset_time - time.time()
        # The sliding counter frees room gradually; never say less than a second or
        # more than the window itself.
        seconds = max(1, min(math.ceil(wait), item.get_expiry()))
        return Refused(limit, seconds)

    async def close(self) -> None:
        timer = getattr(self.storage, "timer", None)  # MemoryStorage's expiry task
        if timer is not None and not timer.done():
            timer.cancel()
        # RedisStorage's redis-py client (``limits`` has no close of its own).
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        if client is not None:
            await client.aclose()


def _setting(limit: Limit) -> str:
    if limit in (Limit.SESSIONS_UNDER_LOAD, Limit.FLOOD):
        return limit.value
    return "limit_" + limit.value
