"""The broker interface and the local fan-out both backends share."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from gateway.events import Event, decode_event, encode_event

# A subscriber that falls this far behind is cut off rather than let memory grow.
SUBSCRIBER_QUEUE_SIZE = 1000


class SubscriberOverflow(Exception):
    """The subscriber did not keep up and missed events; it should resynchronise."""


class LocalNotice:
    """Something a process tells its own subscribers (a queue snapshot); it never
    crosses the broker, so it needs no schema."""


class Subscription:
    """What ``Broker.subscribe`` yields: an async iterator of events, in the order
    they were delivered, with the process's own notices among them."""

    def __init__(self, channels: tuple[str, ...]) -> None:
        self.channels = channels
        self._queue: asyncio.Queue[Event | LocalNotice] = asyncio.Queue(SUBSCRIBER_QUEUE_SIZE)
        self.overflowed = False

    def deliver(self, event: Event | LocalNotice) -> None:
        if self.overflowed:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            # Wake a reader that is waiting, so that it learns of the overflow now.
            self._queue.get_nowait()
            self._queue.put_nowait(LocalNotice())

    async def get(self) -> Event | LocalNotice:
        if self.overflowed:
            raise SubscriberOverflow
        event = await self._queue.get()
        if self.overflowed:
            raise SubscriberOverflow
        return event

    def __aiter__(self) -> AsyncIterator[Event | LocalNotice]:
        return self

    async def __anext__(self) -> Event | LocalNotice:
        return await self.get()


class Broker(ABC):
    """Publish events to channels; subscribe to channels for as long as a block runs."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}

    async def connect(self) -> None:  # noqa: B027 - optional hook
        """Open connections to the backend (nothing to do for memory)."""

    async def disconnect(self) -> None:  # noqa: B027 - optional hook
        """Close connections to the backend."""

    async def publish(self, channel: str, event: Event) -> None:
        await self._publish_raw(channel, encode_event(event))

    @abstractmethod
    async def _publish_raw(self, channel: str, payload: str) -> None: ...

    async def _on_first_subscriber(self, channel: str) -> None:  # noqa: B027 - optional hook
        """Called when this process starts listening to a channel."""

    async def _on_last_unsubscribe(self, channel: str) -> None:  # noqa: B027 - optional hook
        """Called when this process stops listening to a channel."""

    def _dispatch(self, channel: str, payload: str) -> None:
        if self._subscribers.get(channel):
            self._deliver(channel, decode_event(payload))

    def _deliver(self, channel: str, event: Event) -> None:
        for subscription in tuple(self._subscribers.get(channel, ())):
            subscription.deliver(event)

    @asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(channels)
        for channel in channels:
            listeners = self._subscribers.setdefault(channel, set())
            listeners.add(subscription)
            if len(listeners) == 1:
                await self._on_first_subscriber(channel)
        try:
            yield subscription
        finally:
            for channel in channels:
                listeners = self._subscribers.get(channel, set())
                listeners.discard(subscription)
                if not listeners:
                    self._subscribers.pop(channel, None)
                    await self._on_last_unsubscribe(channel)
