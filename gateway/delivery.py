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

AfterDelivery = Callable[[], Awaitable[None]]


class BotDelivery:
    """Runs one delivery task per bot turn; a session's turns go out one after another."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self._tasks: set[asyncio.Task[None]] = set()
        # The most recent delivery of each session: the next one waits for it.
        self._latest: dict[int, asyncio.Task[None]] = {}

    def deliver(self, turn: BotTurn, *, after: AfterDelivery | None = None) -> asyncio.Task[None]:
        previous = self._latest.get(turn.session_id)
        task = asyncio.create_task(
            self._run(turn, after, previous), name=f"bot-delivery-{turn.session_id}"
        )
        self._latest[turn.session_id] = task
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._forget(turn.session_id, done))
        return task

    def _forget(self, session_id: int, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._latest.get(session_id) is task:
            del self._latest[session_id]

    async def _run(
        self, turn: BotTurn, after: AfterDelivery | None, previous: asyncio.Task[None] | None
    ) -> None:
        if previous is not None:
            # asyncio.wait, unlike await, does not cancel the previous turn if this
            # one is cancelled (at shutdown), and does not raise its errors.
            await asyncio.wait({previous})
        try:
            await self._publish(turn)
        except Exception:
            log.exception("bot delivery failed for session %s", turn.session_id)
        if after is not None:
            # The bot's decision to end the chat is stored whether or not the
            # broker carried every frame.
            try:
                await after()
            except Exception:
                log.exception("ending the chat after the bot's turn failed (%s)", turn.session_id)

    async def _publish(self, turn: BotTurn) -> None:
        channel = session_channel(turn.session_id)
        typing = False
        for event in turn.events:
            if isinstance(event, MessageAdded) and event.seq in turn.delays:
                # PROTOCOL.md 7: typing on, a pause that grows with the text, the message.
                await self.broker.publish(
                    channel, TypingChanged(session_id=turn.session_id, sender="bot", on=True)
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

    async def close(self) -> None:
        for task in tuple(self._tasks):
            task.cancel()
        for task in tuple(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
