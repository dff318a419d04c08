"""In-process broker: the default for one process with SQLite."""

from __future__ import annotations

from gateway.broker.base import Broker
from gateway.events import Event


class MemoryBroker(Broker):
    async def publish(self, channel: str, event: Event) -> None:
        # In one process an event is delivered as it is: events are immutable
        # structs, checked when built, so encoding and decoding would only cost.
        self._deliver(channel, event)

    async def _publish_raw(self, channel: str, payload: str) -> None:
        self._dispatch(channel, payload)
