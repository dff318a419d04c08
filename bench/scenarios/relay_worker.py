"""Worker side of the relay scenario: chats (a person socket and, except against the echo
server, the counsellor socket of the same chat) and the two load patterns.

A message is timed from the moment the person's ``say`` is handed to the socket
until the counsellor socket receives the ``message`` frame with its
``client_id`` (against the echo server, which has no counsellor side, until
the ``ack``). Both ends of a chat live in the same process.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from bench.clients import Conn, Frame, is_type, now, open_widget, open_workspace, poll, say
from bench.scenarios.people import summary
from bench.workers import WorkerContext


@dataclass
class Meter:
    """What one measurement phase saw, as (sent at, received at) pairs."""

    acks: list[tuple[float, float]] = field(default_factory=list)
    deliveries: list[tuple[float, float]] = field(default_factory=list)
    errors: int = 0


@dataclass
class Chat:
    key: str
    person: Conn
    counsellor: Conn | None  # None: the ack is the delivery (echo server)
    unacked: dict[str, float] = field(default_factory=dict)
    undelivered: dict[str, float] = field(default_factory=dict)
    waiting_for: tuple[str, asyncio.Future[None]] | None = None
    numbers: itertools.count[int] = field(default_factory=itertools.count)
    meter: Meter = field(default_factory=Meter)

    def watch(self, meter: Meter) -> None:
        """Time every frame from now on into ``meter``."""
        self.meter = meter
        self.person.drain()
        self.person.handler = self._on_person
        if self.counsellor is not None:
            self.counsellor.drain()
            self.counsellor.handler = self._on_counsellor

    async def send(self) -> str:
        client_id = f"{self.key}-{next(self.numbers)}"
        at = now()
        self.unacked[client_id] = at
        self.undelivered[client_id] = at
        await self.person.send(say(client_id, f"bench message {client_id}"))
        return client_id

    def _settle(self, client_id: str) -> None:
        if self.waiting_for is not None and self.waiting_for[0] == client_id:
            future = self.waiting_for[1]
            if not future.done():
                future.set_result(None)

    def _on_person(self, frame: Frame, at: float) -> None:
        kind = frame["type"]
        client_id = frame.get("client_id")
        if kind == "ack" and client_id in self.unacked:
            sent = self.unacked.pop(client_id)
            self.meter.acks.append((sent, at))
            if self.counsellor is None:
                self.undelivered.pop(client_id, None)
                self.meter.deliveries.append((sent, at))
            self._settle(client_id)
        elif kind == "error" and client_id in self.unacked:
            self.meter.errors += 1
            self.unacked.pop(client_id)
            self.undelivered.pop(client_id, None)
            self._settle(client_id)

    def _on_counsellor(self, frame: Frame, at: float) -> None:
        if frame["type"] == "message" and frame.get("client_id") in self.undelivered:
            sent = self.undelivered.pop(frame["client_id"])
            self.meter.deliveries.append((sent, at))


def _chats(ctx: WorkerContext) -> list[Chat]:
    chats: list[Chat] = ctx.state.setdefault("chats", [])
    return chats


async def w_open_chats(
    ctx: WorkerContext,
    *,
    mode: str,
    base_ws: str,
    chats: list[tuple[str, int | str | None, str | None]],
    concurrency: int,
    timeout_s: float,
) -> dict[str, Any]:
    """Open each chat (key, session id, counsellor cookie) against ``mode``:

    * ``gateway``: the queued person (token from ``w_queue_people``) comes back to a
      live chat; the counsellor opens ``/counsellor/ws?session=ID`` with the cookie.
    * ``relay``: the bare relay pairs the person's token with the counsellor's session.
    * ``echo``: a person only.
    """
    tokens: dict[str, tuple[str, int]] = ctx.state.get("tokens", {})
    gate = asyncio.Semaphore(concurrency)
    durations: list[float] = []

    async def one(key: str, session: int | str | None, cookie: str | None) -> None:
        async with gate:
            started = now()
            counsellor = None
            if mode == "gateway":
                token, last_seq = tokens[key]
                person, welcome = await open_widget(base_ws, token, last_seq, timeout_s)
                if welcome["state"] != "live":
                    await person.close()
                    raise RuntimeError(f"{key}: came back to state {welcome['state']}")
                await person.until(is_type("state"), timeout_s)
            else:
                person, _ = await open_widget(base_ws, key if mode == "relay" else None)
            if mode != "echo":
                try:
                    counsellor, _ = await open_workspace(base_ws, cookie, session, timeout_s)
                except BaseException:
                    await person.close()
                    raise
            _chats(ctx).append(Chat(key, person, counsellor))
            durations.append(now() - started)

    results = await asyncio.gather(*(one(*chat) for chat in chats), return_exceptions=True)
    return summary(durations, [r for r in results if isinstance(r, BaseException)])


async def w_chat_keys(ctx: WorkerContext) -> list[str]:
    return [chat.key for chat in _chats(ctx)]


async def _drain(chats: list[Chat], seconds: float) -> int:
    """Wait (at most ``seconds``) until every message sent has arrived; how many did not."""
    await poll(lambda: not any(chat.undelivered for chat in chats), seconds, every_s=0.05)
    return sum(len(chat.undelivered) for chat in chats)


def _report(meter: Meter, lost: int) -> dict[str, Any]:
    return {
        "acks": meter.acks,
        "deliveries": meter.deliveries,
        "errors": meter.errors,
        "lost": lost,
    }


async def w_saturate(
    ctx: WorkerContext, *, start_at: float, stop_at: float, drain_s: float
) -> dict[str, Any]:
    """Every person sends, waits for the ack, sends again, from ``start_at`` to ``stop_at``;
    then up to ``drain_s`` for what is still on its way to the counsellor sockets."""
    chats = _chats(ctx)
    meter = Meter()
    for chat in chats:
        chat.watch(meter)
    loop = asyncio.get_running_loop()

    async def closed_loop(chat: Chat) -> None:
        while now() < stop_at:
            future: asyncio.Future[None] = loop.create_future()
            chat.waiting_for = (await chat.send(), future)
            await future

    await asyncio.sleep(max(0.0, start_at - now()))
    tasks = [asyncio.create_task(closed_loop(chat)) for chat in chats]
    # A server that stops acking must not hold the bench: give up at the drain deadline.
    _done, pending = await asyncio.wait(tasks, timeout=stop_at + drain_s - now())
    for task in pending:
        task.cancel()
    lost = await _drain(chats, max(0.0, stop_at + drain_s - now()))
    # How long after the window the last message sent in it arrived: the backlog the
    # server built while the acks ran ahead of the deliveries.
    drained_s = now() - stop_at if not lost else None
    for chat in chats:
        chat.waiting_for = None
        chat.unacked.clear()
        chat.undelivered.clear()
    return {**_report(meter, lost), "drained_s": drained_s}


async def w_fixed_rate(
    ctx: WorkerContext, *, start_at: float, stop_at: float, rate: float, drain_s: float
) -> dict[str, Any]:
    """Open loop: ``rate`` messages a second from this worker, the chats in turn."""
    chats = _chats(ctx)
    meter = Meter()
    for chat in chats:
        chat.watch(meter)
    if not chats:
        return {**_report(meter, 0), "client_behind_s": 0.0}
    interval = 1.0 / rate if rate > 0 else float("inf")
    behind = 0.0
    for number in itertools.count():
        due = start_at + number * interval
        if due >= stop_at:
            break
        delay = due - now()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            behind = max(behind, -delay)
        await chats[number % len(chats)].send()
    lost = await _drain(chats, drain_s)
    for chat in chats:
        chat.unacked.clear()
        chat.undelivered.clear()
    return {**_report(meter, lost), "client_behind_s": behind}
