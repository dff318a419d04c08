"""In-process broker: the default for one process with SQLite."""

from __future__ import annotations

from gateway.broker.base import Broker


class MemoryBroker(Broker):
    async def _publish_raw(self, channel: str, payload: str) -> None:
        self._dispatch(channel, payload)
