"""Publishing a bot turn as a person would see it: typing, a pause, the message.

The messages are already stored when this runs, so a restart in the middle
loses nothing: a reconnecting widget reads them from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from gateway.actions.bot import BotTurn
from gateway.broker import Broker
from gateway.events import MessageAdded, TypingChanged, session_channel

log = logging.getLogger(__name__)


class BotDelivery:
    """Runs one delivery task per bot turn, in order per session."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self._locks: dict[int, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def deliver(
        self, turn: BotTurn, *, after: Callable[[], Awaitable[None]] | None = None
    ) -> asyncio.Task[None]:
        task = asyncio.create_task(self._run(turn, after), name=f"bot-delivery-{turn.session_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self, turn: BotTurn, after: Callable[[], Awaitable[None]] | None) -> None:
        lock = self._locks.setdefault(turn.session_id, asyncio.Lock())
        channel = session_channel(turn.session_id)
        try:
            async with lock:
                typing = False
                for event in turn.events:
                    if isinstance(event, MessageAdded) and event.seq in turn.delays:
                        # PROTOCOL.md 7: typing on, a pause that grows with the text, the message.
                        await self.broker.publish(
                            channel,
                            TypingChanged(session_id=turn.session_id, sender="bot", on=True),
                        )
                        typing = True
                        delay = turn.delays[event.seq]
                        if delay > 0:
                            await asyncio.sleep(delay)
                    await self.broker.publish(channel, event)
                if typing:
                    await self.broker.publish(
                        channel, TypingChanged(session_id=turn.session_id, sender="bot", on=False)
                    )
                if after is not None:
                    await after()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("bot delivery failed for session %s", turn.session_id)
        finally:
            if not lock.locked() and lock is self._locks.get(turn.session_id):
                self._locks.pop(turn.session_id, None)

    async def close(self) -> None:
        for task in tuple(self._tasks):
            task.cancel()
        for task in tuple(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
