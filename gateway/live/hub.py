"""What one process does for all its live connections at once.

Connections join the hub while they are open. The hub:

* listens to the queue channel once for the process and, on each change,
  reads the queue once and hands the snapshot to every connection that shows
  it (waiting people, workspaces): no connection reads the queue itself;
* once a heartbeat writes presence for every open widget and workspace in one
  unit of work, reads the stored pulse of every session served here in one
  query, checks every workspace's sign-in in one query, and hands each
  connection its pulse, so that an idle connection costs no database work of
  its own and a lost event is recovered within two heartbeats.

The hub never sends a frame itself: it hands each connection its part, and the
connection's own tasks send (a slow socket cannot hold the others up).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from gateway.actions.live_board import LiveBoard, live_board
from gateway.actions.presence import (
    SessionPulse,
    current_staff_sessions,
    mark_present,
    session_pulses,
)
from gateway.actions.snapshot import QueueSnapshot, queue_snapshot
from gateway.broker.base import SubscriberOverflow
from gateway.events import QUEUE_CHANNEL
from gateway.services import Services

log = logging.getLogger(__name__)

# After a failed snapshot or tick, wait this long before trying again (the
# database may be restarting; trying in a tight loop would only add load).
RETRY_S = 1.0


class LiveMember:
    """What the hub knows of one open connection. The adapters fill these in."""

    # The session whose stored pulse this connection wants each heartbeat.
    session_id: int | None = None
    # The person's widget is open for ``session_id`` (presence).
    person_present: bool = False
    # The staff member whose workspace this is, and their cookie's session id.
    staff_id: int | None = None
    staff_cookie: str | None = None
    # Whether this connection shows the queue (waiting people, workspaces).
    wants_queue: bool = False
    # Whether this connection shows the supervisors' live board (it wants the queue too).
    wants_board: bool = False

    def on_board(self, board: LiveBoard) -> None:
        """A new live board, read once for all supervisors (must not block)."""

    def on_snapshot(self, snapshot: QueueSnapshot) -> None:
        """A new queue snapshot (must not block: hand it to the connection's pump)."""

    def on_pulse(self, pulse: SessionPulse | None) -> None:
        """The stored state of ``session_id`` this heartbeat (None: it is gone)."""

    def on_signed_out(self) -> None:
        """The workspace's sign-in is no longer current."""


class LiveHub:
    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self.members: set[LiveMember] = set()
        self.snapshot: QueueSnapshot | None = None
        self._snapshot_current = False
        self._dirty = asyncio.Event()
        self._present_now: set[LiveMember] = set()
        self._present_soon = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        # Counters for the benchmark and tests.
        self.snapshots = 0
        self.boards = 0
        self.ticks = 0

    # --- lifecycle ------------------------------------------------------

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._forever(self._listen), name="hub-queue-listener"),
            asyncio.create_task(self._forever(self._snapshots), name="hub-snapshots"),
            asyncio.create_task(self._forever(self._heartbeats), name="hub-heartbeats"),
            asyncio.create_task(self._forever(self._presence), name="hub-presence"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _forever(self, loop: Any) -> None:
        """Run one of the hub's loops; a failure is logged and the loop starts again."""
        while True:
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("live hub: %s failed (%s); retrying", loop.__name__, type(exc).__name__)
                self._snapshot_current = False
                self._dirty.set()
                await asyncio.sleep(RETRY_S)

    # --- membership -----------------------------------------------------

    def join(self, member: LiveMember) -> None:
        self.members.add(member)
        if member.person_present or member.staff_id is not None:
            # Seen now, not at the next heartbeat: a counsellor counts as on duty
            # at once, a returning person is not abandoned in the meantime.
            self._present_now.add(member)
            self._present_soon.set()

    def leave(self, member: LiveMember) -> None:
        self.members.discard(member)
        self._present_now.discard(member)

    async def snapshot_for(self, member: LiveMember) -> QueueSnapshot:
        """The current queue for a member that must show it before anything else
        (a workspace opening): the shared snapshot if current, else read now."""
        snapshot = self.snapshot
        if (
            self._snapshot_current
            and snapshot is not None
            and (member.staff_id is None or member.staff_id in snapshot.staff_ids)
        ):
            return snapshot
        staff_ids = {member.staff_id} if member.staff_id is not None else set()
        return await queue_snapshot(self.svc, staff_ids=staff_ids)

    def want_queue(self, member: LiveMember) -> None:
        """Give this member the queue now if it is current, else read it soon."""
        snapshot = self.snapshot
        if (
            self._snapshot_current
            and snapshot is not None
            and (member.staff_id is None or member.staff_id in snapshot.staff_ids)
        ):
            member.on_snapshot(snapshot)
        else:
            self._dirty.set()

    def counsellors_on_duty(self) -> int | None:
        """Counsellors on duty (signed in, available, seen recently, busy or not) from
        the current snapshot; None if it is not current. The bot needs this figure to
        tell "nobody on duty" from "everyone busy" (``gateway/actions/bot.py``)."""
        snapshot = self.snapshot
        if self._snapshot_current and snapshot is not None:
            return snapshot.on_duty
        return None

    def queue_changed(self) -> None:
        self._snapshot_current = False
        self._dirty.set()

    # --- loops ------------------------------------------------------------

    async def _listen(self) -> None:
        """One subscription to the queue channel for the whole process."""
        try:
            async with self.svc.broker.subscribe(QUEUE_CHANNEL) as subscription:
                self.queue_changed()  # anything missed while not subscribed
                async for _event in subscription:
                    self.queue_changed()
        except SubscriberOverflow:
            self.queue_changed()

    async def _snapshots(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            listeners = [m for m in self.members if m.wants_queue]
            if not listeners:
                continue
            staff_ids = {m.staff_id for m in listeners if m.staff_id is not None}
            snapshot = await queue_snapshot(self.svc, staff_ids=staff_ids)
            self.snapshots += 1
            self.snapshot = snapshot
            # Current unless the queue changed again while it was being read.
            self._snapshot_current = not self._dirty.is_set()
            for member in [m for m in self.members if m.wants_queue]:
                if member.staff_id is None or member.staff_id in snapshot.staff_ids:
                    member.on_snapshot(snapshot)
                else:
                    self._dirty.set()  # joined while reading: needs its own chats
            await self._boards(snapshot)

    async def _boards(self, snapshot: QueueSnapshot) -> None:
        """The supervisors' board for this snapshot, read once for all who show it."""
        if not any(m.wants_board for m in self.members):
            return
        board = await live_board(self.svc, snapshot)
        self.boards += 1
        for member in [m for m in self.members if m.wants_board]:
            member.on_board(board)

    async def _presence(self) -> None:
        while True:
            await self._present_soon.wait()
            self._present_soon.clear()
            members, self._present_now = self._present_now, set()
            await self._mark(members)
            if any(m.staff_id is not None for m in members):
                self.queue_changed()  # who is on duty may differ

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(max(self.svc.settings.heartbeat_s, 0.05))
            await self.tick()

    async def _mark(self, members: set[LiveMember]) -> None:
        await mark_present(
            self.svc,
            session_ids={m.session_id for m in members if m.person_present and m.session_id},
            staff_ids={m.staff_id for m in members if m.staff_id is not None},
        )

    async def tick(self) -> None:
        """One heartbeat for every connection of this process."""
        self.ticks += 1
        members = set(self.members)
        if not members:
            return
        await self._mark(members)
        pulses = await session_pulses(
            self.svc, session_ids={m.session_id for m in members if m.session_id is not None}
        )
        cookies = {m.staff_cookie for m in members if m.staff_cookie is not None}
        current = await current_staff_sessions(self.svc, session_ids=cookies)
        for member in members:
            if member not in self.members:
                continue  # left while this tick was reading
            try:
                if member.staff_cookie is not None and member.staff_cookie not in current:
                    member.on_signed_out()
                elif member.session_id is not None:
                    member.on_pulse(pulses.get(member.session_id))
            except Exception as exc:
                # One connection's trouble must not cost the others their heartbeat.
                log.error("live hub: a connection's heartbeat failed (%s)", type(exc).__name__)
        # Estimates and who is on duty drift with time: refresh the queue once a heartbeat.
        if any(m.wants_queue for m in members):
            self.queue_changed()
