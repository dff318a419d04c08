"""The counsellor websocket: the live queue, and the live chat of a claimed session.

The handshake checks ``Origin`` and the session cookie; every frame is
checked against the signed-in counsellor's ownership of the session by the
action it calls.
"""

from __future__ import annotations

import asyncio
import contextlib

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from counsellor_ui import frames as f
from counsellor_ui.auth import runtime_of, signed_in
from gateway.actions.activity import signal_typing
from gateway.actions.messages import NotYourSession, messages_after, post_counsellor_message
from gateway.actions.queue import counsellors_available, queue_rows, session_for_staff
from gateway.actions.staff import SignedIn, set_presence
from gateway.broker import Subscription
from gateway.events import (
    QUEUE_CHANNEL,
    Event,
    MessageAdded,
    QueueChanged,
    SessionErased,
    SessionStateChanged,
    StaffSignedOut,
    TypingChanged,
    session_channel,
    staff_channel,
)
from gateway.runtime import Runtime
from gateway.types import SessionState

MAX_FRAME_BYTES = 16 * 1024
MAX_TEXT_CHARS = 4000


async def counsellor_socket(websocket: WebSocket) -> None:
    runtime = runtime_of(websocket)
    origin = websocket.headers.get("origin", "").rstrip("/")
    who = await signed_in(websocket)
    await websocket.accept()
    if origin not in runtime.svc.settings.effective_allowed_origins or who is None:
        await websocket.close(1008, reason="not signed in or origin refused")
        return
    session_id = None
    raw_session = websocket.query_params.get("session")
    if raw_session and raw_session.isdigit():
        chat = await session_for_staff(runtime.svc, session_id=int(raw_session))
        if chat is None or chat.counsellor_id != who.staff.id:
            await websocket.close(1008, reason="not your chat")
            return
        session_id = chat.id
    await CounsellorConnection(websocket, runtime, who, session_id).run()


class CounsellorConnection:
    def __init__(
        self, websocket: WebSocket, runtime: Runtime, who: SignedIn, session_id: int | None
    ) -> None:
        self.ws = websocket
        self.svc = runtime.svc
        self.who = who
        self.session_id = session_id
        self.delivered_seq = 0
        self._lock = asyncio.Lock()

    async def run(self) -> None:
        channels = [QUEUE_CHANNEL, staff_channel(self.who.staff.id)]
        if self.session_id is not None:
            channels.append(session_channel(self.session_id))
            lines = await messages_after(self.svc, session_id=self.session_id)
            self.delivered_seq = lines[-1].seq if lines else 0
        async with self.svc.broker.subscribe(*channels) as subscription:
            tasks = [
                asyncio.create_task(self._pump(subscription)),
                asyncio.create_task(self._heartbeat()),
            ]
            try:
                await self._send_queue()
                await self._read_loop()
            except (WebSocketDisconnect, RuntimeError):
                pass
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(
                        asyncio.CancelledError, WebSocketDisconnect, RuntimeError
                    ):
                        await task

    async def _heartbeat(self) -> None:
        while True:
            await set_presence(self.svc, staff_id=self.who.staff.id)
            await asyncio.sleep(self.svc.settings.heartbeat_s)

    async def _read_loop(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text") or ""
            if len(text.encode()) > MAX_FRAME_BYTES:
                await self._send(f.ErrorOut(message="That message is too long to send."))
                continue
            try:
                frame = f.decoder.decode(text)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                await self._send(f.ErrorOut(message=f"Frame not understood: {exc}"))
                continue
            await self._handle(frame)

    async def _handle(self, frame: f.CounsellorFrame) -> None:
        if self.session_id is None:
            await self._send(f.ErrorOut(message="Open a chat to send messages."))
            return
        if isinstance(frame, f.TypingIn):
            await signal_typing(
                self.svc, session_id=self.session_id, sender="counsellor", on=frame.on
            )
            return
        text = frame.text.strip()
        if not text or len(text) > MAX_TEXT_CHARS:
            await self._send(
                f.ErrorOut(
                    message="Messages must be 1 to 4,000 characters.", client_id=frame.client_id
                )
            )
            return
        try:
            seq = await post_counsellor_message(
                self.svc,
                session_id=self.session_id,
                staff=self.who.staff,
                client_id=frame.client_id,
                text=text,
            )
        except NotYourSession:
            await self._send(
                f.ErrorOut(message="This chat is no longer yours.", client_id=frame.client_id)
            )
            return
        await self._send(f.AckOut(client_id=frame.client_id, seq=seq))

    async def _pump(self, subscription: Subscription) -> None:
        async for event in subscription:
            await self._on_event(event)

    async def _on_event(self, event: Event) -> None:
        if isinstance(event, QueueChanged):
            await self._send_queue()
        elif isinstance(event, StaffSignedOut):
            await self.ws.close(1008, reason="signed out")
        elif isinstance(event, MessageAdded) and event.session_id == self.session_id:
            await self._catch_up(event.seq)
        elif isinstance(event, TypingChanged) and event.sender == "user":
            await self._send(f.TypingOut(session_id=event.session_id, on=event.on))
        elif isinstance(event, SessionStateChanged) and event.session_id == self.session_id:
            await self._send(
                f.StateOut(
                    session_id=event.session_id, state=event.state, counsellor=event.counsellor_name
                )
            )
        elif isinstance(event, SessionErased) and event.session_id == self.session_id:
            await self._send(
                f.StateOut(session_id=event.session_id, state=SessionState.CLOSED.value)
            )

    async def _catch_up(self, upto: int) -> None:
        assert self.session_id is not None
        if upto <= self.delivered_seq:
            return
        for line in await messages_after(
            self.svc, session_id=self.session_id, after_seq=self.delivered_seq
        ):
            if line.seq > upto or line.seq != self.delivered_seq + 1:
                break
            self.delivered_seq = line.seq
            await self._send(
                f.MessageOut(
                    session_id=self.session_id,
                    seq=line.seq,
                    sender=line.sender.value,
                    text=line.text,
                    at=line.at_iso,
                    client_id=line.client_id,
                    name=line.counsellor_name,
                )
            )

    async def _send_queue(self) -> None:
        rows = await queue_rows(self.svc)
        async with self.svc.read() as session:
            available = await counsellors_available(
                session, self.svc.clock(), self.svc.settings.heartbeat_s * 3
            )
        await self._send(
            f.QueueOut(
                rows=[
                    f.QueueRowOut(
                        session_id=r.session_id,
                        position=r.position,
                        priority=r.priority.name.lower(),
                        priority_label=r.priority.label,
                        reason=r.reason,
                        matched=r.matched,
                        mood=r.mood,
                        locale=r.locale,
                        queued_at=r.queued_at.isoformat(),
                        front=r.front,
                        preview=r.preview,
                    )
                    for r in rows
                ],
                available=available,
            )
        )

    async def _send(self, frame: f.Out) -> None:
        if self.ws.application_state != WebSocketState.CONNECTED:
            raise WebSocketDisconnect
        async with self._lock:
            await self.ws.send_text(f.encoder.encode(frame).decode())
