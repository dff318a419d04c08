"""Fan-out of events between connections, chosen by URL.

``memory://`` keeps everything in this process; ``redis://`` uses Redis
pub/sub so that several gateway processes behind a load balancer see the
same events.
"""

from __future__ import annotations

from gateway.broker.base import Broker, Subscription
from gateway.broker.memory import MemoryBroker
from gateway.broker.redis import RedisBroker


def create_broker(url: str, *, channel_prefix: str = "haven:") -> Broker:
    if url.startswith("memory://"):
        return MemoryBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisBroker(url, channel_prefix)
    raise ValueError(f"unknown broker URL {url!r}: use memory:// or redis://")


__all__ = ["Broker", "MemoryBroker", "RedisBroker", "Subscription", "create_broker"]
