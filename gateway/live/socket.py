"""A websocket as frames of one protocol: checked on the way in, typed on the way out.

Both live sockets (the widget's ``/ws/chat`` and the workspace's
``/counsellor/ws``) are one of these, with their own ``Codec``. Every frame
read is checked against the limits (text only, size, strict decoding, the
frame rate; for a message also its text and the message rate) and a bad one
is answered with an error frame; too many bad frames within a window close
the connection with 4429.

Several tasks of one connection send (the reader's acks, the pump's
messages, the hub's queue updates); a lock keeps each frame whole and a close
is final: after it, every send raises ``SocketClosed`` instead of failing at
random.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from typing import Generic, NoReturn, Protocol, TypeVar

import msgspec
from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from gateway.protocol import Close, ErrorCode, refusal_detail, say_client_id
from gateway.ratelimit import SlidingWindow
from gateway.settings import Settings

log = logging.getLogger(__name__)
_SEND_ERRORS = (RuntimeError, WebSocketDisconnect, OSError)

In = TypeVar("In")
Out = TypeVar("Out")
In_co = TypeVar("In_co", covariant=True)
Out_contra = TypeVar("Out_contra", contravariant=True)
Out_co = TypeVar("Out_co", covariant=True)


class SocketClosed(Exception):
    """The socket is gone or was closed by us; stop quietly."""


class FellBehind(Exception):
    """The connection could not keep up with its events; the client should resume."""


QUIET = (SocketClosed, WebSocketDisconnect)


class Codec(Protocol[In_co, Out_contra]):
    """How one protocol reads and writes frames."""

    def decode(self, raw: str) -> In_co: ...

    def encode(self, frame: Out_contra) -> str: ...


class ErrorFrames(Protocol[Out_co]):
    def __call__(
        self, code: ErrorCode, *, client_id: str | None = None, detail: str | None = None
    ) -> Out_co: ...


class LiveSocket(Generic[In, Out]):
    def __init__(
        self,
        websocket: WebSocket,
        settings: Settings,
        codec: Codec[In, Out],
        error: ErrorFrames[Out],
    ) -> None:
        self.ws = websocket
        self.settings = settings
        self.codec = codec
        self.error = error
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

    async def refuse(self, reason: str, code: int = Close.POLICY) -> None:
        """Accept and close at once (1008 for a refused origin, as PROTOCOL.md asks)."""
        with contextlib.suppress(*_SEND_ERRORS):
            await self.ws.accept()
            await self.ws.close(code, reason=reason)

    async def deny(self, status: int, reason: str, *, retry_after_s: int) -> None:
        """Refuse before any websocket opens: an HTTP answer (429 with Retry-After)
        where the server can send one, else a close before accept (HTTP 403)."""
        answer = PlainTextResponse(
            reason, status_code=status, headers={"Retry-After": str(retry_after_s)}
        )
        with contextlib.suppress(*_SEND_ERRORS):
            try:
                await self.ws.send_denial_response(answer)
            except RuntimeError:  # a server without the denial-response extension
                await self.ws.close(Close.POLICY, reason)

    async def receive(self) -> str | bytes:
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            raise SocketClosed
        self.last_frame_at = time.monotonic()
        text = message.get("text")
        return str(text) if text is not None else bytes(message.get("bytes") or b"")

    async def receive_first(self, timeout_s: float) -> str | bytes:
        """The first frame, within ``timeout_s`` (else closed with 4408)."""
        try:
            async with asyncio.timeout(timeout_s):
                return await self.receive()
        except TimeoutError:
            await self.close(Close.HELLO_TIMEOUT, "no hello in time")

    def within_size(self, raw: str | bytes) -> bool:
        return isinstance(raw, str) and len(raw.encode()) <= self.settings.max_frame_bytes

    async def receive_frame(self) -> In | None:
        """The next frame, or None when it was refused (and answered)."""
        raw = await self.receive()
        if not isinstance(raw, str):
            await self.reject("bad_frame", detail="Frames must be JSON text, not binary.")
            return None
        if len(raw.encode()) > self.settings.max_frame_bytes:
            limit = f"A frame may be at most {self.settings.max_frame_bytes} bytes."
            await self.reject("too_large", client_id=say_client_id(raw), detail=limit)
            return None
        try:
            frame = self.codec.decode(raw)  # depth-checked before it recurses
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
            # A message refused for its content still names it, so the client can
            # mark that message as not sent (for instance text with a NUL in it).
            detail = refusal_detail(exc)
            await self.reject("bad_frame", client_id=say_client_id(raw), detail=detail)
            return None
        if not self._frames.allow(time.monotonic()):
            client_id = getattr(frame, "client_id", None)
            await self.reject("rate_limited", client_id=client_id)
            return None
        return frame

    async def accept_text(self, text: str, client_id: str) -> str | None:
        """The trimmed text of a message within the limits, or None (answered already)."""
        text = text.strip()
        if not text:
            await self.send(self.error("empty", client_id=client_id))
            return None
        if len(text) > self.settings.max_text_chars:
            limit = f"A message may be at most {self.settings.max_text_chars} characters."
            await self.send(self.error("too_large", client_id=client_id, detail=limit))
            return None
        if not self._says.allow(time.monotonic()):
            await self.send(self.error("rate_limited", client_id=client_id))
            return None
        return text

    async def reject(
        self, code: ErrorCode, *, client_id: str | None = None, detail: str | None = None
    ) -> None:
        """Answer a bad frame; too many within the window close the connection (4429)."""
        await self.send(self.error(code, client_id=client_id, detail=detail))
        if not self._bad_frames.allow(time.monotonic()):
            await self.close(Close.ABUSE, "too many bad frames")

    async def send(self, frame: Out) -> None:
        await self.send_text(self.codec.encode(frame))

    async def send_text(self, text: str) -> None:
        async with self._lock:
            if self.closing or self.ws.application_state != WebSocketState.CONNECTED:
                raise SocketClosed
            try:
                await self.ws.send_text(text)
            except _SEND_ERRORS as exc:
                self.closing = True
                raise SocketClosed from exc

    async def final(self, frame: Out, code: int, reason: str) -> NoReturn:
        """Send a last frame and close, once, whichever task gets here first."""
        await self.close_quietly(code, reason, last=frame)
        raise SocketClosed

    async def close(self, code: int, reason: str) -> NoReturn:
        await self.close_quietly(code, reason)
        raise SocketClosed

    async def close_quietly(self, code: int, reason: str, *, last: Out | None = None) -> None:
        async with self._lock:
            if self.closing:
                return
            self.closing = True
            if self.ws.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(*_SEND_ERRORS):
                    if last is not None:
                        await self.ws.send_text(self.codec.encode(last))
                    await self.ws.close(code, reason=reason)

    async def end(self, exc: BaseException | None) -> None:
        """Close after the connection's supervisor stopped, saying why in the close code."""
        if exc is None or isinstance(exc, QUIET):
            await self.close_quietly(Close.NORMAL, "done")
        elif isinstance(exc, FellBehind):
            await self.close_quietly(Close.TRY_AGAIN, "fell behind, reconnect")
        elif isinstance(exc, Exception):
            await self.fail(exc)

    async def fail(self, exc: Exception) -> None:
        """Close with 1011 after an unexpected failure (the client resumes), and log
        where it happened without the exception's text: a database error quotes its
        SQL parameters, which may be what a person wrote."""
        where = "".join(traceback.format_tb(exc.__traceback__))
        log.error("live connection failed with %s\n%s", type(exc).__name__, where)
        await self.close_quietly(Close.INTERNAL_ERROR, "internal error")
