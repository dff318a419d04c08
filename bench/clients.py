"""The bench's websocket clients: one small connection wrapper, the widget and the workspace.

Every server under test (the gateway, the bare relay, the echo server) is
driven by these same clients. A ``Conn`` reads its socket in a task: frames go
to an inbox (setup steps wait on it with ``until``) or, while a measurement
runs, to a handler that timestamps them on arrival.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

# The Origin every client sends; the servers are started allowing exactly this one.
ORIGIN = "http://bench.localhost"
STAFF_COOKIE = "haven_staff"

Frame = dict[str, Any]
Handler = Callable[[Frame, float], None]

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode
_CLOSED = "_closed"


def now() -> float:
    """CLOCK_MONOTONIC: one clock for every process of the machine, so a send timed in
    one client process and a receipt timed in another can be compared."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


async def poll(condition: Callable[[], bool], seconds: float, every_s: float = 0.005) -> bool:
    """Wait until ``condition()`` holds (True) or ``seconds`` pass (False). For state
    that frame handlers fill in: the handlers stamp arrivals, so polling costs no
    precision."""
    deadline = now() + seconds
    while not condition():
        if now() >= deadline:
            return False
        await asyncio.sleep(every_s)
    return True


class Closed(Exception):
    """The server closed the connection while a step was waiting for a frame."""


class Conn:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.inbox: asyncio.Queue[Frame] = asyncio.Queue()
        self.handler: Handler | None = None
        self.last_seq = 0
        self.close_code: int | None = None
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls, url: str, *, cookie: str | None = None, timeout_s: float = 30.0, origin: str = ORIGIN
    ) -> Conn:
        ws = await connect(
            url,
            origin=Origin(origin),
            additional_headers={"Cookie": cookie} if cookie else None,
            compression=None,
            proxy=None,  # loopback only, whatever the environment says
            ping_interval=None,  # like a browser: the server pings, the client answers
            max_size=None,
            open_timeout=timeout_s,
            close_timeout=2,
        )
        return cls(ws)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                at = now()
                frame: Frame = _decode(raw)
                seq = frame.get("seq")
                if isinstance(seq, int) and seq > self.last_seq:
                    self.last_seq = seq
                if self.handler is not None:
                    self.handler(frame, at)
                else:
                    frame["_at"] = at  # when it arrived, for steps that time a reply
                    self.inbox.put_nowait(frame)
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            self.inbox.put_nowait({"type": _CLOSED, "code": self.close_code})

    @property
    def is_open(self) -> bool:
        return not self._reader.done()

    async def send(self, frame: Frame) -> None:
        await self.ws.send(_encode(frame), text=True)

    async def until(self, predicate: Callable[[Frame], bool], timeout_s: float) -> list[Frame]:
        """Frames from the inbox up to and including the first that matches."""
        got: list[Frame] = []
        async with asyncio.timeout(timeout_s):
            while True:
                frame = await self.inbox.get()
                if frame["type"] == _CLOSED:
                    self.inbox.put_nowait(frame)
                    raise Closed(f"closed with {frame['code']} after {[f['type'] for f in got]}")
                got.append(frame)
                if predicate(frame):
                    return got

    def drain(self) -> list[Frame]:
        """Whatever is waiting in the inbox, without waiting."""
        got: list[Frame] = []
        while not self.inbox.empty():
            got.append(self.inbox.get_nowait())
        return got

    async def close(self) -> None:
        with contextlib.suppress(ConnectionClosed, OSError):
            await self.ws.close()
        await asyncio.wait([self._reader], timeout=3)


# --- the widget protocol (docs/protocol.md) ---------------------------------------


def is_type(kind: str) -> Callable[[Frame], bool]:
    return lambda frame: frame["type"] == kind


def bot_done(frame: Frame) -> bool:
    """The bot's turn is over: it sends ``typing`` off after its last message."""
    return frame["type"] == "typing" and frame.get("from") == "bot" and not frame["on"]


def is_bot_message(frame: Frame) -> bool:
    return frame["type"] == "message" and frame.get("from") == "bot"


def is_ack(client_id: str) -> Callable[[Frame], bool]:
    return lambda frame: frame["type"] == "ack" and frame.get("client_id") == client_id


def say(client_id: str, text: str, value: str | None = None) -> Frame:
    frame: Frame = {"type": "say", "client_id": client_id, "text": text}
    if value is not None:
        frame["value"] = value
    return frame


async def open_widget(
    base_ws: str, token: str | None = None, last_seq: int = 0, timeout_s: float = 30.0
) -> tuple[Conn, Frame]:
    """A widget connection that has sent ``hello`` and received ``welcome``."""
    conn = await Conn.open(f"{base_ws}/ws/chat", timeout_s=timeout_s)
    try:
        await conn.send(
            {"type": "hello", "v": 1, "token": token, "last_seq": last_seq, "locale": "en"}
        )
        welcome = (await conn.until(is_type("welcome"), timeout_s))[-1]
    except BaseException:
        await conn.close()
        raise
    conn.last_seq = max(conn.last_seq, last_seq)
    return conn, welcome


async def join_queue(conn: Conn, key: str, timeout_s: float, text: str | None = None) -> None:
    """Press "Talk to a person"; before consent the bot asks for it first, and when
    nobody is free it offers to wait: accept each once. Returns once the ``queue``
    frame has come (it may follow the bot's ``typing`` off).

    With ``text``, each answer is sent as that text with the button's value, so the
    last thing the person wrote (the queue row's preview) stays ``text``."""
    await conn.send({"type": "ask_counsellor"})
    seen: list[Frame] = []
    answered: set[str] = set()
    while True:
        frames = await conn.until(lambda f: f["type"] == "queue" or bot_done(f), timeout_s)
        seen += frames
        if frames[-1]["type"] == "queue":
            return
        if any(f["type"] == "state" and f.get("state") == "queued" for f in seen):
            continue  # queued: the position is on its way
        offers = [
            reply
            for frame in frames
            if is_bot_message(frame)
            for reply in frame.get("quick_replies") or []
            if reply.get("value") in {"yes", "wait"} - answered
        ]
        if not offers:
            raise RuntimeError("asked for a counsellor: the bot neither queued nor offered to wait")
        value = offers[-1]["value"]
        answered.add(value)
        await conn.send(say(f"{key}-{value}", text or offers[-1]["label"], value))


# --- the counsellor workspace ------------------------------------------------------


async def open_workspace(
    base_ws: str,
    cookie: str | None,
    session: int | str | None = None,
    timeout_s: float = 30.0,
) -> tuple[Conn, Frame]:
    """A counsellor socket (the dashboard, or one chat with ``session``), once it has
    sent its first ``queue`` frame: from then on it is subscribed to every event."""
    query = f"?session={session}" if session is not None else ""
    conn = await Conn.open(
        f"{base_ws}/counsellor/ws{query}",
        cookie=f"{STAFF_COOKIE}={cookie}" if cookie else None,
        timeout_s=timeout_s,
        # The workspace is one of the gateway's own pages (HAVEN_PUBLIC_URL): the staff
        # socket refuses the widget's origin.
        origin=base_ws.replace("ws", "http", 1),
    )
    try:
        first = (await conn.until(is_type("queue"), timeout_s))[-1]
    except BaseException:
        await conn.close()
        raise
    return conn, first
