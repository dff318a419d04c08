"""A small, strict widget-protocol client for the integration tests."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

Frame = dict[str, Any]
# How long to wait for a frame that must come. It is a deadline, not a delay: the
# frame usually comes in milliseconds, but the suite runs in parallel workers on shared
# cores (tests/conftest.py), where a fresh server's first reply can take seconds.
# That a frame does NOT come is checked with ``quiet()``.
PATIENCE_S = 15.0


class ChatClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.token: str | None = None
        self.welcome: Frame | None = None
        self.seen: list[Frame] = []

    @classmethod
    async def open(cls, base_ws: str, origin: str, **kwargs: Any) -> ChatClient:
        ws = await connect(f"{base_ws}/ws/chat", origin=origin, **kwargs)  # type: ignore[arg-type]
        return cls(ws)

    async def send(self, frame: Frame) -> None:
        await self.ws.send(json.dumps(frame))

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def recv(self, timeout: float = PATIENCE_S) -> Frame:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        frame: Frame = json.loads(raw)
        self.seen.append(frame)
        return frame

    async def recv_until(self, predicate: Any, timeout: float = PATIENCE_S) -> list[Frame]:
        """Frames received up to and including the first that matches ``predicate``."""
        got: list[Frame] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no matching frame; got {got}")
            frame = await self.recv(remaining)
            got.append(frame)
            if predicate(frame):
                return got

    async def quiet(self, seconds: float = 0.3) -> list[Frame]:
        """Whatever arrives within ``seconds`` (to assert that nothing more comes)."""
        got: list[Frame] = []
        try:
            while True:
                got.append(await self.recv(seconds))
        except (TimeoutError, ConnectionClosed):
            return got

    async def hello(self, token: str | None = None, last_seq: int = 0, **extra: Any) -> Frame:
        await self.send({"type": "hello", "v": 1, "token": token, "last_seq": last_seq, **extra})
        frame = await self.recv()
        assert frame["type"] == "welcome", frame
        self.welcome = frame
        if frame.get("token"):
            self.token = frame["token"]
        return frame

    async def say(self, text: str, client_id: str | None = None, value: str | None = None) -> str:
        client_id = client_id or uuid.uuid4().hex
        frame: Frame = {"type": "say", "client_id": client_id, "text": text}
        if value is not None:
            frame["value"] = value
        await self.send(frame)
        return client_id

    async def ask_for_a_person(self, timeout: float = PATIENCE_S) -> list[Frame]:
        """Press "Talk to a person" (``ask_counsellor``) until the ``queue`` frame.

        Before the person has agreed that the chat is kept, the bot asks that first,
        in one step: agree ("Yes, find a counsellor"). If it says nobody is free,
        choose to wait.
        """
        await self.send({"type": "ask_counsellor"})
        got: list[Frame] = []
        while True:
            got += await self.recv_until(
                lambda f: f["type"] == "queue" or offered(f, "yes", "wait") is not None, timeout
            )
            button = offered(got[-1], "yes", "wait")
            if button is None:
                return got
            await self.say(button["label"], value=button["value"])

    async def close(self) -> None:
        await self.ws.close()


def offered(frame: Frame, *values: str) -> dict[str, str] | None:
    """The first quick reply of a bot message whose value is one of ``values``."""
    if frame.get("type") != "message":
        return None
    replies = frame.get("quick_replies") or []
    return next((dict(r) for v in values for r in replies if r["value"] == v), None)


def is_type(kind: str) -> Any:
    return lambda frame: frame["type"] == kind


def is_ack(client_id: str) -> Any:
    return lambda frame: frame["type"] == "ack" and frame["client_id"] == client_id
