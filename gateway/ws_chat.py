"""The widget's websocket, ``/ws/chat`` (PROTOCOL.md v1).

One ``ChatConnection`` per socket. It validates every frame, calls actions,
and runs a pump that turns broker events into frames, in ``seq`` order with
no gaps and no repeats on this connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from bot_engine import AskCounsellor as BotAskCounsellor
from bot_engine import SessionEvent, UserMessage, detect
from gateway import protocol as p
from gateway.actions.activity import signal_typing
from gateway.actions.messages import SessionClosed, messages_after, post_user_message
from gateway.actions.queue import queue_position, raise_priority
from gateway.actions.sessions import (
    SessionView,
    erase_session,
    find_session,
    leave_session,
    start_session,
    touch_user,
)
from gateway.broker import Subscription
from gateway.chat_frames import frame_from_event, frame_from_line
from gateway.events import (
    QUEUE_CHANNEL,
    Event,
    MessageAdded,
    QueueChanged,
    SessionErased,
    SessionStateChanged,
    TypingChanged,
    session_channel,
)
from gateway.ratelimit import SlidingWindow
from gateway.runtime import Runtime
from gateway.types import SessionState

log = logging.getLogger(__name__)


class _Closed(Exception):
    """The socket is gone or was closed by us; stop quietly."""


async def chat_endpoint(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.state.runtime
    await ChatConnection(websocket, runtime).run()


class ChatConnection:
    def __init__(self, websocket: WebSocket, runtime: Runtime) -> None:
        self.ws = websocket
        self.runtime = runtime
        self.svc = runtime.svc
        self.settings = runtime.svc.settings
        self.session: SessionView | None = None
        self.state = SessionState.BOT
        self.delivered_seq = 0
        self.own_client_ids: set[str] = set()
        self.last_queue_frame: p.QueueOut | None = None
        self.bad_frames = 0
        self._send_lock = asyncio.Lock()
        self._says = SlidingWindow(
            self.settings.rate_limit_messages, self.settings.rate_limit_window_s
        )
        # Typing and other frames get a looser budget than messages.
        self._frames = SlidingWindow(
            self.settings.rate_limit_messages * 5, self.settings.rate_limit_window_s
        )
        self._last_frame_at = time.monotonic()

    # --- lifecycle ------------------------------------------------------

    async def run(self) -> None:
        origin = self.ws.headers.get("origin", "")
        if origin.rstrip("/") not in self.settings.effective_allowed_origins:
            await self.ws.accept()
            await self.ws.close(p.Close.POLICY, reason="origin not allowed")
            return
        address = self.ws.client.host if self.ws.client else "unknown"
        if not self.runtime.addresses.acquire(address):
            await self.ws.accept()
            await self.ws.close(p.Close.POLICY, reason="too many connections")
            return
        try:
            await self.ws.accept()
            await self._serve()
        except (_Closed, WebSocketDisconnect):
            pass
        finally:
            self.runtime.addresses.release(address)

    async def _serve(self) -> None:
        hello = await self._receive_hello()
        if hello is None:
            return
        session, token = await self._open_session(hello)
        if session is None:
            return
        self.session = session
        self.state = session.state
        channels = (session_channel(session.id), QUEUE_CHANNEL)
        async with self.svc.broker.subscribe(*channels) as subscription:
            await self._send(
                p.Welcome(
                    v=p.VERSION, state=session.state.wire, last_seq=session.last_seq, token=token
                )
            )
            replay_from = 0 if hello.last_seq > session.last_seq else hello.last_seq
            self.delivered_seq = replay_from
            await self._catch_up(session.last_seq)
            if token is not None:
                await self.runtime.bot_turn(session.id, SessionEvent(kind="started"))
            elif self.state == SessionState.QUEUED:
                await self._send_queue(force=True)
            pump = asyncio.create_task(self._pump(subscription), name="chat-pump")
            keepalive = asyncio.create_task(self._keepalive(), name="chat-keepalive")
            try:
                await self._read_loop()
            finally:
                for task in (pump, keepalive):
                    task.cancel()
                for task in (pump, keepalive):
                    with contextlib.suppress(asyncio.CancelledError, _Closed, WebSocketDisconnect):
                        await task

    async def _receive_hello(self) -> p.Hello | None:
        try:
            raw = await asyncio.wait_for(self._receive_text(), self.settings.hello_timeout_s)
        except TimeoutError:
            await self._close(p.Close.HELLO_TIMEOUT, "no hello in time")
            return None
        if raw is None:
            return None
        try:
            frame = p.decode_client_frame(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            await self._send(
                p.error("bad_frame", message=f"The first frame must be a valid hello: {exc}")
            )
            await self._close(p.Close.BAD_HELLO, "first frame was not a valid hello")
            return None
        if not isinstance(frame, p.Hello):
            await self._send(p.error("bad_frame", message="The first frame must be hello."))
            await self._close(p.Close.BAD_HELLO, "first frame was not hello")
            return None
        return frame

    async def _open_session(self, hello: p.Hello) -> tuple[SessionView | None, str | None]:
        if hello.token is None:
            new, token = await start_session(self.svc, locale=(hello.locale or "en").lower())
            return new, token
        session = await find_session(self.svc, token=hello.token)
        if session is None:
            await self._send(p.error("unknown_token"))
            await self._close(p.Close.UNKNOWN_TOKEN, "unknown token")
            return None, None
        await touch_user(self.svc, session_id=session.id)
        return session, None

    async def _keepalive(self) -> None:
        """Tell the service the person is still here, refresh the queue, close idle sockets."""
        interval = max(1.0, self.settings.heartbeat_s)
        while True:
            await asyncio.sleep(interval)
            if time.monotonic() - self._last_frame_at > self.settings.idle_timeout_s:
                await self._close(p.Close.NORMAL, "idle")
                return
            if self.session is not None and not self.state.finished:
                await touch_user(self.svc, session_id=self.session.id)
                if self.state == SessionState.QUEUED:
                    await self._send_queue()

    # --- reading --------------------------------------------------------

    async def _receive_text(self) -> str | None:
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            raise _Closed
        self._last_frame_at = time.monotonic()
        text = message.get("text")
        if text is None:
            await self._bad("bad_frame", "Frames must be JSON text.")
            return ""
        if len(text.encode()) > self.settings.max_frame_bytes:
            await self._send(p.error("too_large"))
            return ""
        return str(text)

    async def _read_loop(self) -> None:
        while True:
            raw = await self._receive_text()
            if not raw:
                continue
            if not self._frames.allow(time.monotonic()):
                await self._bad("rate_limited")
                continue
            try:
                frame = p.decode_client_frame(raw)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                await self._bad("bad_frame", f"That frame was not understood: {exc}")
                continue
            await self._handle(frame)

    async def _bad(self, code: p.ErrorCode, message: str | None = None) -> None:
        self.bad_frames += 1
        await self._send(p.error(code, message=message))
        if self.bad_frames >= self.settings.max_bad_frames:
            await self._close(p.Close.ABUSE, "too many bad frames")

    async def _handle(self, frame: p.ClientFrame) -> None:
        assert self.session is not None
        match frame:
            case p.Say():
                await self._say(frame)
            case p.TypingIn(on=on):
                if self.state == SessionState.LIVE:
                    await signal_typing(self.svc, session_id=self.session.id, sender="user", on=on)
            case p.AskCounsellor():
                if self.state == SessionState.BOT:
                    await self.runtime.bot_turn(self.session.id, BotAskCounsellor())
                elif self.state == SessionState.QUEUED:
                    await self._send_queue(force=True)
                else:
                    await self._send(p.error("not_now"))
            case p.Leave():
                await leave_session(self.svc, session_id=self.session.id)
                await self._close(p.Close.NORMAL, "left")
            case p.Erase():
                await erase_session(self.svc, session_id=self.session.id)
            case p.Hello():
                await self._send(p.error("bad_frame", message="hello was already received."))

    async def _say(self, frame: p.Say) -> None:
        assert self.session is not None
        text = frame.text.strip()
        if not text:
            await self._send(p.error("empty", client_id=frame.client_id))
            return
        if len(text) > self.settings.max_text_chars:
            await self._send(p.error("too_large", client_id=frame.client_id))
            return
        if not self._says.allow(time.monotonic()):
            await self._send(p.error("rate_limited", client_id=frame.client_id))
            return
        self.own_client_ids.add(frame.client_id)
        try:
            posted = await post_user_message(
                self.svc, session_id=self.session.id, client_id=frame.client_id, text=text
            )
        except SessionClosed:
            self.own_client_ids.discard(frame.client_id)
            await self._send(p.error("closed", client_id=frame.client_id))
            return
        await self._send(p.Ack(client_id=frame.client_id, seq=posted.seq))
        if posted.duplicate:
            return
        if posted.state == SessionState.BOT:
            await self.runtime.bot_turn(self.session.id, UserMessage(text=text, value=frame.value))
        elif posted.state == SessionState.QUEUED:
            match = detect(text, self.session.locale)
            if match is not None and match.kind == "crisis":
                await raise_priority(
                    self.svc, session_id=self.session.id, reason=match.rule, matched=match.matched
                )

    # --- writing --------------------------------------------------------

    async def _pump(self, subscription: Subscription) -> None:
        async for event in subscription:
            await self._on_event(event)

    async def _on_event(self, event: Event) -> None:
        assert self.session is not None
        if isinstance(event, MessageAdded):
            if event.session_id == self.session.id:
                await self._catch_up(event.seq, latest=event)
        elif isinstance(event, TypingChanged):
            if event.sender in ("bot", "counsellor"):
                await self._send(p.TypingOut(from_=event.sender, on=event.on))  # type: ignore[arg-type]
        elif isinstance(event, SessionStateChanged):
            self.state = SessionState(event.state)
            await self._send(p.StateOut(state=self.state.wire, counsellor=event.counsellor_name))
            if self.state == SessionState.QUEUED:
                await self._send_queue(force=True)
        elif isinstance(event, SessionErased):
            await self._send(p.Erased())
            await self._close(p.Close.NORMAL, "erased")
        elif isinstance(event, QueueChanged) and self.state == SessionState.QUEUED:
            await self._send_queue()

    async def _catch_up(self, upto: int, latest: MessageAdded | None = None) -> None:
        """Send every message after ``delivered_seq`` up to ``upto``, in order, once."""
        assert self.session is not None
        if upto <= self.delivered_seq:
            return
        if latest is not None and latest.seq == self.delivered_seq + 1:
            frames = [frame_from_event(latest)]
        else:
            lines = await messages_after(
                self.svc, session_id=self.session.id, after_seq=self.delivered_seq
            )
            frames = [frame_from_line(line) for line in lines if line.seq <= upto]
        for frame in frames:
            if frame.seq != self.delivered_seq + 1:
                break
            self.delivered_seq = frame.seq
            if frame.from_ == "user" and frame.client_id in self.own_client_ids:
                continue  # this connection already had its ack
            await self._send(frame)

    async def _send_queue(self, *, force: bool = False) -> None:
        assert self.session is not None
        position = await queue_position(self.svc, session_id=self.session.id)
        if position is None:
            return
        frame = p.QueueOut(
            position=position.position,
            estimated_wait_s=position.estimated_wait_s,
            counsellors_available=position.counsellors_available,
            alternatives=(),
        )
        if force or frame != self.last_queue_frame:
            self.last_queue_frame = frame
            await self._send(frame)

    async def _send(self, frame: p.ServerFrame) -> None:
        if self.ws.application_state != WebSocketState.CONNECTED:
            raise _Closed
        async with self._send_lock:
            try:
                await self.ws.send_text(p.encode(frame))
            except (RuntimeError, WebSocketDisconnect, OSError) as exc:
                raise _Closed from exc

    async def _close(self, code: int, reason: str) -> None:
        if self.ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, OSError):
                await self.ws.close(code, reason=reason)
        raise _Closed
