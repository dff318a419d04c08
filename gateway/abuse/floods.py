"""Flood groups: the sessions one address creates beyond a threshold share a label.

When an address (as its keyed hash, ``address_key``) creates more sessions than
``HAVEN_FLOOD_SESSIONS`` allows in its window, every later session of it, and the
earlier ones of that window except the very first, share an opaque random label
(``chat_sessions.flood_group``). The label is made with ``secrets``, never derived
from the address, and the address's link to it lives only here, in memory or in
Redis, for the window: once the address has been quiet that long, a new flood gets
a new label. The first session of the window is never labelled: a real person
behind a shared address (a school, a hostel) keeps their place, and clearing the
flood never closes their chat.

Which sessions an address opened recently is remembered the same way (session ids
only, a few more than the threshold at most, with the window as their lifetime) so
that those already made when the flood is noticed can join the group.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis

from gateway.abuse.limits import AbuseLimits, Limit
from gateway.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FloodMark:
    """A new session belongs to flood ``label``; ``earlier`` sessions of the same
    address join it too (the first of the window excepted)."""

    label: str
    earlier: tuple[int, ...]


def new_label() -> str:
    return secrets.token_hex(8)  # 16 characters: chat_sessions.flood_group is String(16)


class FloodMemory(Protocol):
    async def label(self, key: str, ttl_s: int) -> str: ...

    async def remember(self, key: str, session_id: int, ttl_s: int, keep: int) -> None: ...

    async def take_earlier(self, key: str) -> tuple[int, ...]: ...

    async def close(self) -> None: ...


class InMemoryFloods:
    """For one process (``memory://``)."""

    def __init__(self) -> None:
        self._labels: dict[str, tuple[str, float]] = {}
        self._recent: dict[str, tuple[list[int], float]] = {}

    def _expire(self, now: float) -> None:
        for table in (self._labels, self._recent):
            for key in [k for k, (_, until) in table.items() if until <= now]:
                del table[key]

    async def label(self, key: str, ttl_s: int) -> str:
        now = time.monotonic()
        self._expire(now)
        label = self._labels[key][0] if key in self._labels else new_label()
        self._labels[key] = (label, now + ttl_s)
        return label

    async def remember(self, key: str, session_id: int, ttl_s: int, keep: int) -> None:
        now = time.monotonic()
        self._expire(now)
        ids = self._recent.get(key, ([], 0.0))[0]
        self._recent[key] = ([*ids, session_id][:keep], now + ttl_s)

    async def take_earlier(self, key: str) -> tuple[int, ...]:
        ids, _ = self._recent.pop(key, ([], 0.0))
        return tuple(ids[1:])

    async def close(self) -> None:
        self._labels.clear()
        self._recent.clear()


class RedisFloods:
    """Shared by every process (``redis://``): keys under the channel prefix, each
    expiring with the window."""

    def __init__(self, url: str, prefix: str) -> None:
        self.redis = aioredis.Redis.from_url(url, decode_responses=True)
        self.prefix = prefix + "flood:"

    async def label(self, key: str, ttl_s: int) -> str:
        name = self.prefix + "label:" + key
        await self.redis.set(name, new_label(), nx=True, ex=ttl_s)
        await self.redis.expire(name, ttl_s)
        return str(await self.redis.get(name) or new_label())

    async def remember(self, key: str, session_id: int, ttl_s: int, keep: int) -> None:
        name = self.prefix + "recent:" + key
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(name, session_id)
            pipe.ltrim(name, 0, keep - 1)
            pipe.expire(name, ttl_s)
            await pipe.execute()

    async def take_earlier(self, key: str) -> tuple[int, ...]:
        name = self.prefix + "recent:" + key
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lrange(name, 1, -1)
            pipe.delete(name)
            ids, _ = await pipe.execute()
        return tuple(int(i) for i in ids)

    async def close(self) -> None:
        await self.redis.aclose()


class FloodWatch:
    def __init__(self, settings: Settings, limits: AbuseLimits) -> None:
        self.limits = limits
        self.memory: FloodMemory = (
            RedisFloods(settings.broker_url, settings.broker_channel_prefix)
            if settings.broker_url.startswith(("redis://", "rediss://"))
            else InMemoryFloods()
        )
        # The longest window of HAVEN_FLOOD_SESSIONS, and its smallest amount.
        items = limits.items[Limit.FLOOD]
        self.window_s = max(item.get_expiry() for item in items)
        self.threshold = min(item.amount for item in items)
        # Ids kept per address: the threshold's, and room for sessions made at the
        # same moment as the one that crosses it.
        self.keep = self.threshold + 50

    async def new_session(self, address_key: str, session_id: int) -> FloodMark | None:
        """Count a new session of this address; its flood mark if it is one too many.

        Redis unreachable: no mark (the session keeps its normal place) and a line
        in the log, never a failed connection."""
        try:
            # Remembered before it is counted: a session counted under the threshold
            # is in the list by the time a concurrent one over it takes the list.
            await self.memory.remember(address_key, session_id, self.window_s, self.keep)
            if await self.limits.hit(Limit.FLOOD, address_key) is None:
                return None
            label = await self.memory.label(address_key, self.window_s)
            return FloodMark(label, await self.memory.take_earlier(address_key))
        except (OSError, aioredis.RedisError):
            log.warning("flood groups unavailable; a new session was not checked")
            return None

    async def close(self) -> None:
        await self.memory.close()
