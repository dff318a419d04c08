"""A dashboard's live markers: the counsellor's own chats, each followed on its channel.

``ChatWatch`` follows the chats the queue snapshot lists as the counsellor's,
hands each new ``MessageAdded`` to the connection's pump, and turns it into a
``marker`` frame ("waiting for your reply", unread counts) without a database
read. Used by ``CounsellorConnection`` (``counsellor_ui/ws.py``) for a
dashboard, not for a chat page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from counsellor_ui import frames as f
from gateway.actions.workspace import MyChat
from gateway.broker import Broker
from gateway.broker.base import SubscriberOverflow
from gateway.events import MessageAdded, session_channel


class ChatWatch:
    """A dashboard's watch on its counsellor's own live chats, for its live markers.

    The queue snapshot says which chats are theirs; each is followed on its own
    channel, and its new messages are handed to the connection's pump, which
    turns them into "waiting for your reply" and unread counts without a read.
    """

    def __init__(self, broker: Broker, deliver: Callable[[MessageAdded], None]) -> None:
        self._broker = broker
        self._deliver = deliver
        self._tasks: dict[int, asyncio.Task[None]] = {}
        # Per chat: waiting for a reply, unread, and the last seq those account for.
        self._markers: dict[int, tuple[bool, int, int]] = {}

    async def follow(self, chats: list[MyChat]) -> None:
        """Follow exactly these chats; returns once each new one is subscribed."""
        ids = {c.session_id for c in chats}
        for gone in set(self._tasks) - ids:
            self._tasks.pop(gone).cancel()
        started: list[asyncio.Event] = []
        for new in ids - set(self._tasks):
            ready = asyncio.Event()
            started.append(ready)
            self._tasks[new] = asyncio.create_task(self._forward(new, ready), name=f"watch-{new}")
        markers = {}
        for chat in chats:
            known = self._markers.get(chat.session_id)
            # A snapshot read before the latest event counted is older: keep the event's view.
            if known is not None and known[2] > chat.last_seq:
                markers[chat.session_id] = known
            else:
                markers[chat.session_id] = (chat.person_waiting, chat.unread, chat.last_seq)
        self._markers = markers
        for ready in started:
            await ready.wait()

    async def _forward(self, session_id: int, ready: asyncio.Event) -> None:
        # Overflow or a broker fault: the next snapshot (each heartbeat) corrects the markers.
        try:
            async with self._broker.subscribe(session_channel(session_id)) as subscription:
                ready.set()
                async for event in subscription:
                    if isinstance(event, MessageAdded):
                        self._deliver(event)
        except (SubscriberOverflow, ConnectionError):
            pass
        finally:
            ready.set()

    def marker(self, event: MessageAdded) -> f.MarkerOut | None:
        """The chat's markers after this message (None: not one of theirs)."""
        known = self._markers.get(event.session_id)
        if known is None or event.seq <= known[2]:
            return None  # not theirs, or already in the snapshot's figures
        waiting, unread, _ = known
        if event.sender == "user":
            waiting, unread = True, unread + 1
        else:
            waiting = False
            unread = 0 if event.sender in ("counsellor", "system") else unread
        self._markers[event.session_id] = (waiting, unread, event.seq)
        return f.MarkerOut(session_id=event.session_id, person_waiting=waiting, unread=unread)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
