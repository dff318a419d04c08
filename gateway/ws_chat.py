"""The widget's websocket, ``/ws/chat`` (PROTOCOL.md v1).

One ``ChatConnection`` per socket runs three tasks: the reader validates every
frame and calls actions; the pump turns broker events into frames, through a
``TranscriptFeed`` that sends messages in ``seq`` order, each once; the
keepalive marks the person as present, refreshes a queued person's position and
recovers what a lost event would have said. When one of them ends, the
connection ends. No input ends the worker: an unexpected failure closes this
connection with 1011 (the client resumes) and is logged without its text.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from bot_engine import AskCounsellor as BotAskCounsellor
from bot_engine import SessionEvent, UserMessage
from gateway import protocol as p
from gateway.actions.activity import signal_typing
from gateway.actions.messages import SessionClosed, post_user_message
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
from gateway.broker.base import SubscriberOverflow
from gateway.chat_feed import TranscriptFeed
from gateway.chat_socket import ChatSocket, SocketClosed
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
from gateway.runtime import Runtime
from gateway.types import SessionState

_QUIET = (SocketClosed, WebSocketDisconnect)


async def chat_endpoint(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.state.runtime
    await ChatConnection(websocket, runtime).run()


class ChatConnection:
    def __init__(self, websocket: WebSocket, runtime: Runtime) -> None:
        self.socket = ChatSocket(websocket, runtime.svc.settings)
        self.runtime = runtime
        self.svc = runtime.svc
        self.settings = runtime.svc.settings
        self.session: SessionView | None = None
        self.state = SessionState.BOT
        self.feed: TranscriptFeed | None = None
        self.last_queue_frame: p.QueueOut | None = None
        self._stale_view: SessionView | None = None
        self._ended_at = 0.0
        self._steps: set[asyncio.Future[None]] = set()

    # --- lifecycle ------------------------------------------------------

    async def run(self) -> None:
        socket = self.socket
        if socket.origin not in self.settings.effective_allowed_origins:
            await socket.refuse("origin not allowed")
            return
        address = socket.address  # only a key in this process's memory while open
        if not self.runtime.addresses.acquire(address):
            await socket.refuse("too many connections")
            return
        try:
            await socket.accept()
            await self._serve()
        except _QUIET:
            pass
        except SubscriberOverflow:
            await self.socket.close_quietly(p.Close.TRY_AGAIN, "fell behind, reconnect")
        except Exception as exc:
            await self.socket.fail(exc)
        finally:
            self.runtime.addresses.release(address)

    async def _serve(self) -> None:
        hello = await self.socket.receive_hello()
        opened, token = await self._open_session(hello)
        channels = (session_channel(opened.id), QUEUE_CHANNEL)
        async with self.svc.broker.subscribe(*channels) as subscription:
            # Read the session again now that no event about it can be missed
            # (and mark the person as present).
            view = self.session = await touch_user(self.svc, session_id=opened.id)
            self.state = view.state
            welcome = p.Welcome(
                v=p.VERSION, state=view.state.wire, last_seq=view.last_seq, token=token
            )
            await self.socket.send(welcome)
            # A client ahead of the server (PROTOCOL.md 6) is sent everything again.
            after = 0 if hello.last_seq > view.last_seq else hello.last_seq
            self.feed = TranscriptFeed(self.svc, view.id, self.socket.send, delivered_seq=after)
            await self.feed.catch_up(view.last_seq)
            if view.state == SessionState.BOT and view.last_seq == 0:
                # A new session, or one whose greeting a crash stopped before it was stored.
                await self.runtime.bot_turn(view.id, SessionEvent(kind="started"))
            elif view.state == SessionState.LIVE:
                await self.socket.send(p.StateOut(state="live", counsellor=view.counsellor_name))
            elif view.state == SessionState.QUEUED:
                await self._send_queue(force=True)
            await self._run_tasks(subscription)

    async def _run_tasks(self, subscription: Subscription) -> None:
        tasks = [
            asyncio.create_task(self._read_loop(), name="chat-reader"),
            asyncio.create_task(self._pump(subscription), name="chat-pump"),
            asyncio.create_task(self._keepalive(), name="chat-keepalive"),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, *self._steps, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception) and not isinstance(result, _QUIET):
                raise result

    async def _open_session(self, hello: p.Hello) -> tuple[SessionView, str | None]:
        if hello.token is None:
            return await start_session(self.svc, locale=(hello.locale or "en").lower())
        session = await find_session(self.svc, token=hello.token)
        if session is None:
            await self.socket.final(
                p.error("unknown_token"), p.Close.UNKNOWN_TOKEN, "unknown token"
            )
        return session, None

    async def _step(self, work: Coroutine[Any, Any, None]) -> None:
        """Run one step (a frame, an event, a tick) to its end, even if the connection
        is torn down meanwhile: a unit of work cancelled half-way can leave its
        database connection, and SQLite's write lock, in an unknown state."""
        step = asyncio.ensure_future(work)
        self._steps.add(step)
        step.add_done_callback(self._steps.discard)
        await asyncio.shield(step)

    async def _keepalive(self) -> None:
        """Presence, queue position, lost events; the idle rule for ended sessions."""
        while True:
            await asyncio.sleep(max(self.settings.heartbeat_s, 0.05))
            if self.state.finished:
                idle = time.monotonic() - max(self.socket.last_frame_at, self._ended_at)
                if idle >= self.settings.idle_timeout_s:
                    await self.socket.close(p.Close.NORMAL, "idle")
            else:
                await self._step(self._heartbeat())

    async def _heartbeat(self) -> None:
        view = await touch_user(self.svc, session_id=self._view().id)
        await self._feed().resync(view.last_seq)
        await self._resync_state(view)
        if self.state == SessionState.QUEUED:
            await self._send_queue()

    async def _resync_state(self, view: SessionView) -> None:
        """Take the stored state if it differed twice running (its event was lost).

        Once is not enough: a bot's escalation is stored before its typing pause.
        """
        if view.state == self.state:
            self._stale_view = None
        elif self._stale_view is not None and self._stale_view.state == view.state:
            self._stale_view = None
            await self._state_changed(view.state, view.counsellor_name)
        else:
            self._stale_view = view

    # --- reading --------------------------------------------------------

    async def _read_loop(self) -> None:
        while True:
            frame = await self.socket.receive_frame()
            if frame is not None:
                await self._step(self._handle(frame))

    async def _handle(self, frame: p.ClientFrame) -> None:
        session_id = self._view().id
        match frame:
            case p.Say():
                await self._say(frame)
            case p.TypingIn(on=on):
                if self.state == SessionState.LIVE:
                    await signal_typing(self.svc, session_id=session_id, sender="user", on=on)
            case p.AskCounsellor():
                await self._ask_counsellor()
            case p.Leave():
                await leave_session(self.svc, session_id=session_id)
                await self.socket.close(p.Close.NORMAL, "left")
            case p.Erase():
                await erase_session(self.svc, session_id=session_id)
                await self.socket.final(p.Erased(), p.Close.NORMAL, "erased")
            case p.Hello():
                await self.socket.reject("bad_frame", detail="hello was already received.")

    async def _ask_counsellor(self) -> None:
        if self.state.finished:
            await self.socket.send(p.error("closed"))
        elif self.state == SessionState.QUEUED:
            await self._send_queue(force=True)
        elif self.state == SessionState.LIVE:
            await self.socket.send(p.error("not_now", detail="A counsellor is already here."))
        else:
            await self.runtime.bot_turn(self._view().id, BotAskCounsellor())

    async def _say(self, frame: p.Say) -> None:
        session, feed, client_id = self._view(), self._feed(), frame.client_id
        text = await self.socket.accept_say(frame)
        if text is None:
            return
        feed.own_client_ids.add(client_id)
        try:
            posted = await post_user_message(
                self.svc, session_id=session.id, client_id=client_id, text=text
            )
        except SessionClosed:
            feed.own_client_ids.discard(client_id)
            await self.socket.send(p.error("closed", client_id=client_id))
            return
        await self.socket.send(p.Ack(client_id=client_id, seq=posted.seq))
        if posted.duplicate:
            return
        # Who speaks (PROTOCOL.md 9) is decided from the state stored with the message.
        if posted.state == SessionState.BOT:
            await self.runtime.bot_turn(session.id, UserMessage(text=text, value=frame.value))
        elif posted.state == SessionState.QUEUED:
            match = self.svc.bot.detect(text, session.locale)
            if match is not None and match.kind == "crisis":
                await raise_priority(
                    self.svc, session_id=session.id, reason=match.rule, matched=match.matched
                )

    # --- writing --------------------------------------------------------

    async def _pump(self, subscription: Subscription) -> None:
        async for event in subscription:
            await self._step(self._on_event(event))

    async def _on_event(self, event: Event) -> None:
        session_id = self._view().id
        match event:
            case MessageAdded() if event.session_id == session_id:
                await self._feed().on_event(event)
            case TypingChanged(sender="bot" | "counsellor" as sender) if (
                event.session_id == session_id
            ):
                await self.socket.send(p.TypingOut(from_=sender, on=event.on))
            case SessionStateChanged() if event.session_id == session_id:
                await self._state_changed(SessionState(event.state), event.counsellor_name)
            case SessionErased() if event.session_id == session_id:
                await self.socket.final(p.Erased(), p.Close.NORMAL, "erased")
            case QueueChanged() if self.state == SessionState.QUEUED:
                await self._send_queue()

    async def _state_changed(self, state: SessionState, counsellor: str | None) -> None:
        self.state = state
        if state.finished:
            self._ended_at = time.monotonic()  # the idle rule starts at the end
        await self.socket.send(p.StateOut(state=state.wire, counsellor=counsellor))
        if state == SessionState.QUEUED:
            await self._send_queue(force=True)

    async def _send_queue(self, *, force: bool = False) -> None:
        session = self._view()
        position = await queue_position(self.svc, session_id=session.id)
        if position is None:
            return
        frame = p.QueueOut(
            position=position.position,
            estimated_wait_s=position.estimated_wait_s,
            counsellors_available=position.counsellors_available,
            # Helplines, so that the queue is never a dead end (PROTOCOL.md 10).
            alternatives=self.svc.bot.helplines(session.locale),
        )
        if force or frame != self.last_queue_frame:
            self.last_queue_frame = frame
            await self.socket.send(frame)

    def _view(self) -> SessionView:
        assert self.session is not None, "used before hello"
        return self.session

    def _feed(self) -> TranscriptFeed:
        assert self.feed is not None, "used before hello"
        return self.feed
