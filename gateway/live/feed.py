"""A session's transcript as one connection receives it: in ``seq`` order, each once.

Events about new messages carry the whole message, so on the happy path a
frame is built from the event and nothing is read back. Events can still
arrive out of order (two units of work publish in the order their tasks
happen to run), late (a bot reply is stored before its typing pause and
published after it), or not at all (Redis was reconnecting). Every message
is stored before its event is published, so the feed keeps the highest
``seq`` it has delivered, sends an event straight away when it is the next
one, and otherwise reads the gap from the database.

Both live sockets use this: the widget with its protocol's frames, the
workspace with its own.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from gateway.actions.messages import TranscriptLine, messages_after
from gateway.events import MessageAdded
from gateway.services import Services

# A gap that the database does not fill at once is read again after 50, then 100 ms;
# if it is still there, the next event or the connection's heartbeat reads it again.
GAP_READS = 3
GAP_RETRY_S = 0.05
# Lines read and sent per step of a catch-up: a resume of thousands of lines is many
# short steps with other connections' work between them, not one long one.
CATCHUP_BATCH = 200

Frame = TypeVar("Frame")


class FrameBuilder(ABC, Generic[Frame]):
    """How a connection turns a stored line or an event into its frame, and which
    messages it skips (still counting them as delivered)."""

    @abstractmethod
    def from_line(self, line: TranscriptLine) -> Frame: ...

    @abstractmethod
    def from_event(self, event: MessageAdded) -> Frame: ...

    @abstractmethod
    def seq_of(self, frame: Frame) -> int: ...

    def skip(self, frame: Frame) -> bool:
        return False

    def skips_event(self, event: MessageAdded) -> bool:
        """``skip`` decided from the event, before a frame is built for it."""
        return False


class TranscriptFeed(Generic[Frame]):
    def __init__(
        self,
        svc: Services,
        session_id: int,
        send: Callable[[Frame], Awaitable[None]],
        frames: FrameBuilder[Frame],
        *,
        delivered_seq: int,
    ) -> None:
        self.svc = svc
        self.session_id = session_id
        self.send = send
        self.frames = frames
        self.delivered_seq = delivered_seq
        self._lock = asyncio.Lock()
        self._suspect_seq = 0

    async def on_event(self, event: MessageAdded) -> None:
        async with self._lock:
            if event.seq == self.delivered_seq + 1:
                if self.frames.skips_event(event):
                    self.delivered_seq = event.seq
                    return
                await self._deliver([self.frames.from_event(event)])
            else:
                await self._catch_up(event.seq, latest=event)

    async def catch_up(self, upto: int) -> None:
        """Send every stored message after ``delivered_seq`` up to ``upto``."""
        async with self._lock:
            await self._catch_up(upto)

    def needs_resync(self, stored_seq: int) -> bool:
        """Whether ``resync`` has anything to do (checked without awaiting)."""
        return stored_seq > self.delivered_seq or self._suspect_seq > self.delivered_seq

    async def resync(self, stored_seq: int) -> None:
        """Recover messages whose events were lost, given the session's stored last seq.

        A bot reply is stored a few seconds before its event (the typing pause), so
        only what was already missing at the previous call is read now.
        """
        async with self._lock:
            if self._suspect_seq > self.delivered_seq:
                await self._catch_up(self._suspect_seq)
            self._suspect_seq = stored_seq if stored_seq > self.delivered_seq else 0

    async def _catch_up(self, upto: int, latest: MessageAdded | None = None) -> None:
        for attempt in range(GAP_READS):
            if upto <= self.delivered_seq:
                return
            if attempt:
                await asyncio.sleep(GAP_RETRY_S * attempt)
            # A long catch-up (a resume from the start of a long chat) goes out a
            # batch at a time, letting every other connection run in between.
            for _ in range(upto):
                if not await self._read_batch(upto, latest):
                    break
                await asyncio.sleep(0)

    async def _read_batch(self, upto: int, latest: MessageAdded | None) -> bool:
        """Send the next ``CATCHUP_BATCH`` stored lines up to ``upto``; whether more
        remain to read at once (a full batch went out and ``upto`` is not reached)."""
        before = self.delivered_seq
        limit = min(upto - before, CATCHUP_BATCH)
        # Shielded: a connection closing meanwhile must not cancel a read half-way
        # through the driver (its pooled connection would be left in use).
        lines = await asyncio.shield(
            messages_after(self.svc, session_id=self.session_id, after_seq=before, limit=limit)
        )
        frames = [self.frames.from_line(line) for line in lines if line.seq <= upto]
        # The event itself is proof its message is stored, even if the read above
        # did not see it yet.
        last = self.frames.seq_of(frames[-1]) if frames else self.delivered_seq
        if latest is not None and last == latest.seq - 1:
            frames.append(self.frames.from_event(latest))
        await self._deliver(frames)
        return len(lines) == limit and self.delivered_seq > before and self.delivered_seq < upto

    async def _deliver(self, frames: list[Frame]) -> None:
        for frame in frames:
            seq = self.frames.seq_of(frame)
            if seq <= self.delivered_seq:
                continue
            if seq != self.delivered_seq + 1:
                return  # a gap: never skip a message, read again later
            self.delivered_seq = seq
            if self.frames.skip(frame):
                continue
            await self.send(frame)
