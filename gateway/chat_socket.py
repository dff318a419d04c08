"""The widget's websocket as protocol frames: checked on the way in, typed on the way out.

Every frame read is checked against the limits (text only, size, strict
decoding, the frame rate; for a ``say`` also its text and the message rate) and
a bad one is answered with an ``error`` frame; too many bad frames within a
window close the connection with 4429.

Several tasks of one connection send (the reader's acks, the pump's messages,
the keepalive's queue updates); a lock keeps each frame whole and a close is
final: after it, every send raises ``SocketClosed`` instead of failing at random.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from typing import NoReturn

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from gateway import protocol as p
from gateway.ratelimit import SlidingWindow
from gateway.settings import Settings

log = logging.getLogger(__name__)
_SEND_ERRORS = (RuntimeError, WebSocketDisconnect, OSError)


class SocketClosed(Exception):
    """The socket is gone or was closed by us; stop quietly."""


class ChatSocket:
    def __init__(self, websocket: WebSocket, settings: Settings) -> None:
        self.ws = websocket
        self.settings = settings
        self.closing = False
        # When the client last sent a frame (the idle rule reads it).
        self.last_frame_at = time.monotonic()
        self._lock = asyncio.Lock()
        self._frames = SlidingWindow(settings.rate_limit_frames, settings.rate_limit_window_s)
        self._says = SlidingWindow(settings.rate_limit_messages, settings.rate_limit_window_s)
        self._bad_frames = SlidingWindow(settings.max_bad_frames, settings.bad_frame_window_s)

    @property
    def origin(self) -> str:
        return self.ws.headers.get("origin", "").rstrip("/")

    @property
    def address(self) -> str:
        """The client's address: a key in memory for the connection cap, never stored."""
        return self.ws.client.host if self.ws.client else ""

    async def accept(self) -> None:
        await self.ws.accept()

    async def refuse(self, reason: str) -> None:
        """Accept and close at once with 1008, as PROTOCOL.md asks for a refused origin."""
        with contextlib.suppress(*_SEND_ERRORS):
            await self.ws.accept()
            await self.ws.close(p.Close.POLICY, reason=reason)

    async def receive(self) -> str | bytes:
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            raise SocketClosed
        self.last_frame_at = time.monotonic()
        text = message.get("text")
        return str(text) if text is not None else bytes(message.get("bytes") or b"")

    async def receive_hello(self) -> p.Hello:
        """The first frame, which must be a valid hello within the hello timeout."""
        try:
            async with asyncio.timeout(self.settings.hello_timeout_s):
                raw = await self.receive()
        except TimeoutError:
            await self.close(p.Close.HELLO_TIMEOUT, "no hello in time")
        detail = "The first frame must be a hello."
        if isinstance(raw, str) and len(raw.encode()) <= self.settings.max_frame_bytes:
            try:
                frame = p.decode_client_frame(raw)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                detail = f"The first frame must be a valid hello: {exc}"
            else:
                if isinstance(frame, p.Hello):
                    return frame
        await self.final(p.error("bad_frame", detail=detail), p.Close.BAD_HELLO, "bad hello")

    async def receive_frame(self) -> p.ClientFrame | None:
        """The next frame, or None when it was refused (and answered)."""
        raw = await self.receive()
        if not isinstance(raw, str):
            await self.reject("bad_frame", detail="Frames must be JSON text, not binary.")
            return None
        if len(raw.encode()) > self.settings.max_frame_bytes:
            limit = f"A frame may be at most {self.settings.max_frame_bytes} bytes."
            await self.reject("too_large", client_id=p.say_client_id(raw), detail=limit)
            return None
        try:
            frame = p.decode_client_frame(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            await self.reject("bad_frame", detail=str(exc))
            return None
        if not self._frames.allow(time.monotonic()):
            client_id = frame.client_id if isinstance(frame, p.Say) else None
            await self.reject("rate_limited", client_id=client_id)
            return None
        return frame

    async def accept_say(self, frame: p.Say) -> str | None:
        """The trimmed text of a ``say`` within the limits, or None (answered already)."""
        text, client_id = frame.text.strip(), frame.client_id
        if not text:
            await self.send(p.error("empty", client_id=client_id))
            return None
        if len(text) > self.settings.max_text_chars:
            limit = f"A message may be at most {self.settings.max_text_chars} characters."
            await self.send(p.error("too_large", client_id=client_id, detail=limit))
            return None
        if not self._says.allow(time.monotonic()):
            await self.send(p.error("rate_limited", client_id=client_id))
            return None
        return text

    async def reject(
        self, code: p.ErrorCode, *, client_id: str | None = None, detail: str | None = None
    ) -> None:
        """Answer a bad frame; too many within the window close the connection (4429)."""
        await self.send(p.error(code, client_id=client_id, detail=detail))
        if not self._bad_frames.allow(time.monotonic()):
            await self.close(p.Close.ABUSE, "too many bad frames")

    async def send(self, frame: p.ServerFrame) -> None:
        async with self._lock:
            if self.closing or self.ws.application_state != WebSocketState.CONNECTED:
                raise SocketClosed
            try:
                await self.ws.send_text(p.encode(frame))
            except _SEND_ERRORS as exc:
                self.closing = True
                raise SocketClosed from exc

    async def final(self, frame: p.ServerFrame, code: int, reason: str) -> NoReturn:
        """Send a last frame and close, once, whichever task gets here first."""
        await self.close_quietly(code, reason, last=frame)
        raise SocketClosed

    async def close(self, code: int, reason: str) -> NoReturn:
        await self.close_quietly(code, reason)
        raise SocketClosed

    async def close_quietly(
        self, code: int, reason: str, *, last: p.ServerFrame | None = None
    ) -> None:
        async with self._lock:
            if self.closing:
                return
            self.closing = True
            if self.ws.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(*_SEND_ERRORS):
                    if last is not None:
                        await self.ws.send_text(p.encode(last))
                    await self.ws.close(code, reason=reason)

    async def fail(self, exc: Exception) -> None:
        """Close with 1011 after an unexpected failure (the client resumes), and log
        where it happened without the exception's text: a database error quotes its
        SQL parameters, which may be what a person wrote."""
        where = "".join(traceback.format_tb(exc.__traceback__))
        log.error("chat connection failed with %s\n%s", type(exc).__name__, where)
        await self.close_quietly(p.Close.INTERNAL_ERROR, "internal error")
