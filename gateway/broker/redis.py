"""Redis pub/sub broker: one pub/sub connection per process, fanned out locally."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from gateway.broker.base import Broker

log = logging.getLogger(__name__)

# Default prefix of every channel name; set HAVEN_BROKER_CHANNEL_PREFIX so that
# deployments (or test runs) sharing one Redis never hear each other's events.
CHANNEL_PREFIX = "haven:"
# Pauses before publishing again after a connection error: enough to ride over a
# dropped pooled connection or a Redis restart of a second, short enough that a
# sender is not held long when Redis is really down (the event is then lost, and
# the connections' heartbeat resync recovers what it said).
PUBLISH_RETRIES_S = (0.0, 0.1, 0.5, 0.0)


class RedisBroker(Broker):
    def __init__(self, url: str, prefix: str = CHANNEL_PREFIX) -> None:
        super().__init__()
        self.url = url
        self.prefix = prefix
        self._redis: aioredis.Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self._redis = aioredis.Redis.from_url(self.url, decode_responses=True)
        await self._redis.ping()
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        # A subscription must exist before listen() has anything to read.
        await self._pubsub.subscribe(self.prefix + "_keepalive")
        self._reader = asyncio.create_task(self._read(), name="redis-broker-reader")

    async def disconnect(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        if self._redis is not None:
            await self._redis.aclose()

    async def _read(self) -> None:
        assert self._pubsub is not None
        while True:
            try:
                async for message in self._pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    channel = str(message["channel"]).removeprefix(self.prefix)
                    try:
                        self._dispatch(channel, str(message["data"]))
                    except Exception:
                        log.exception("dropped a malformed event on channel %s", channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Redis pub/sub reader failed; reconnecting in 1 s")
                await asyncio.sleep(1)

    async def _publish_raw(self, channel: str, payload: str) -> None:
        assert self._redis is not None, "broker not connected"
        for attempt, pause in enumerate(PUBLISH_RETRIES_S):
            try:
                await self._redis.publish(self.prefix + channel, payload)
                return
            except (aioredis.ConnectionError, aioredis.TimeoutError, OSError):
                # After a Redis restart the first try meets a pooled connection the
                # restart closed; the pool drops it and the next try opens a new one.
                if attempt == len(PUBLISH_RETRIES_S) - 1:
                    raise
                await asyncio.sleep(pause)

    async def _on_first_subscriber(self, channel: str) -> None:
        assert self._pubsub is not None, "broker not connected"
        await self._pubsub.subscribe(self.prefix + channel)

    async def _on_last_unsubscribe(self, channel: str) -> None:
        if self._pubsub is not None:
            await self._pubsub.unsubscribe(self.prefix + channel)
