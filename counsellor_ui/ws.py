"""The counsellor websocket: the live queue, and the live chat of a chat the counsellor holds.

The handshake checks ``Origin`` and the session cookie, and, for a chat
(``?session=ID``), that the counsellor holds it. Before acting on any frame
the cookie is checked again (a signed-out or deactivated account is closed
with 1008) and so is the holding: after a release or a transfer the socket
stays open for the queue but carries nothing more of that chat, either way.
"""

from __future__ import annotations

import asyncio
import contextlib

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from counsellor_ui import frames as f
from counsellor_ui.auth import runtime_of, signed_in
from counsellor_ui.wording import describe_reason
from gateway.actions.activity import signal_typing
from gateway.actions.messages import NotYourSession, messages_after, post_counsellor_message
from gateway.actions.queue import counsellors_available
from gateway.actions.signin import SignedIn
from gateway.actions.staff import set_presence
from gateway.actions.workspace import chat_for_staff, my_chats, person_seems_gone, queue_rows
from gateway.broker import Subscription
from gateway.events import (
    QUEUE_CHANNEL,
    ChatTransferred,
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

POLICY = 1008


async def counsellor_socket(websocket: WebSocket) -> None:
    runtime = runtime_of(websocket)
    origin = websocket.headers.get("origin", "").rstrip("/")
    who = await signed_in(websocket)
    await websocket.accept()
    if origin not in runtime.svc.settings.effective_allowed_origins or who is None:
        await websocket.close(POLICY, reason="not signed in or origin refused")
        return
    session_id = None
    raw_session = websocket.query_params.get("session")
    if raw_session is not None:
        chat = None
        if raw_session.isdigit():
            chat = await chat_for_staff(runtime.svc, session_id=int(raw_session))
        if chat is None or chat.counsellor_id != who.staff.id:
            await websocket.close(POLICY, reason="not your chat")
            return
        session_id = chat.id
    after = websocket.query_params.get("after", "0")
    connection = CounsellorConnection(websocket, runtime, who, session_id)
    connection.delivered_seq = int(after) if after.isdigit() else 0
    await connection.run()


class CounsellorConnection:
    def __init__(
        self, websocket: WebSocket, runtime: Runtime, who: SignedIn, session_id: int | None
    ) -> None:
        self.ws = websocket
        self.svc = runtime.svc
        self.who = who
        self.session_id = session_id
        self.holds = session_id is not None
        self.delivered_seq = 0
        self._lock = asyncio.Lock()

    @property
    def staff_id(self) -> int:
        return self.who.staff.id

    async def run(self) -> None:
        channels = [QUEUE_CHANNEL, staff_channel(self.staff_id)]
        if self.session_id is not None:
            channels.append(session_channel(self.session_id))
        async with self.svc.broker.subscribe(*channels) as subscription:
            tasks = [
                asyncio.create_task(self._pump(subscription)),
                asyncio.create_task(self._heartbeat()),
            ]
            try:
                await self._send_queue()
                if self.session_id is not None:
                    await self._catch_up(None)
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
        """Keep the counsellor present (this is what holds their chats through the grace)."""
        while True:
            await set_presence(self.svc, staff_id=self.staff_id)
            if self.session_id is not None and self.holds:
                chat = await chat_for_staff(self.svc, session_id=self.session_id)
                if chat is not None and chat.state == SessionState.LIVE:
                    now = self.svc.clock()
                    await self._send(
                        f.PersonOut(
                            session_id=chat.id,
                            seen_s=max(0, int((now - chat.user_seen_at).total_seconds())),
                            gone=person_seems_gone(self.svc, chat, now),
                        )
                    )
            await asyncio.sleep(self.svc.settings.heartbeat_s)

    async def _read_loop(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text") or ""
            if len(text.encode()) > self.svc.settings.max_frame_bytes:
                await self._send(f.ErrorOut(message="That message is too long to send."))
                continue
            try:
                frame = f.decoder.decode(text)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                await self._send(f.ErrorOut(message=f"Frame not understood: {exc}"))
                continue
            # Every frame is authorised afresh: the account may have been signed out.
            who = await signed_in(self.ws)
            if who is None or who.staff.id != self.staff_id:
                await self.ws.close(POLICY, reason="signed out")
                return
            self.who = who
            await self._handle(frame)

    async def _still_holds(self) -> bool:
        if self.session_id is None:
            return False
        chat = await chat_for_staff(self.svc, session_id=self.session_id)
        self.holds = (
            chat is not None
            and chat.state == SessionState.LIVE
            and chat.counsellor_id == self.staff_id
        )
        return self.holds

    async def _handle(self, frame: f.CounsellorFrame) -> None:
        client_id = frame.client_id if isinstance(frame, f.SayIn) else None
        if not await self._still_holds():
            await self._send(
                f.ErrorOut(message="This chat is not yours to write to.", client_id=client_id)
            )
            return
        assert self.session_id is not None
        if isinstance(frame, f.TypingIn):
            await signal_typing(
                self.svc, session_id=self.session_id, sender="counsellor", on=frame.on
            )
            return
        text = frame.text.strip()
        limit = self.svc.settings.max_text_chars
        if not text or len(text) > limit:
            await self._send(
                f.ErrorOut(
                    message=f"Messages must be 1 to {limit:,} characters.", client_id=client_id
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
            self.holds = False
            await self._send(
                f.ErrorOut(message="This chat is no longer yours.", client_id=client_id)
            )
            return
        await self._send(f.AckOut(client_id=frame.client_id, seq=seq))

    async def _pump(self, subscription: Subscription) -> None:
        async for event in subscription:
            await self._on_event(event)

    async def _on_event(self, event: Event) -> None:
        mine = self.session_id is not None and getattr(event, "session_id", None) == (
            self.session_id
        )
        if isinstance(event, QueueChanged):
            await self._send_queue()
        elif isinstance(event, StaffSignedOut) and event.staff_id == self.staff_id:
            await self.ws.close(POLICY, reason="signed out")
        elif isinstance(event, ChatTransferred) and event.to_staff_id == self.staff_id:
            await self._send(
                f.TransferredOut(session_id=event.session_id, from_name=event.from_name)
            )
        elif not mine:
            return
        elif isinstance(event, SessionStateChanged):
            self.holds = event.state == SessionState.LIVE and event.counsellor_id == self.staff_id
            await self._send(
                f.StateOut(
                    session_id=event.session_id,
                    state=event.state,
                    mine=self.holds,
                    counsellor=event.counsellor_name,
                )
            )
        elif isinstance(event, SessionErased):
            self.holds = False
            await self._send(
                f.StateOut(session_id=event.session_id, state=SessionState.CLOSED, mine=False)
            )
        elif not self.holds:
            return  # released or passed on: nothing more of this chat reaches this socket
        elif isinstance(event, MessageAdded):
            await self._catch_up(event.seq)
        elif isinstance(event, TypingChanged) and event.sender == "user":
            await self._send(f.TypingOut(session_id=event.session_id, on=event.on))

    async def _catch_up(self, upto: int | None) -> None:
        """Send what was stored after ``delivered_seq`` (up to ``upto``), in order, once."""
        assert self.session_id is not None
        if upto is not None and upto <= self.delivered_seq:
            return
        for line in await messages_after(
            self.svc, session_id=self.session_id, after_seq=self.delivered_seq
        ):
            if (upto is not None and line.seq > upto) or line.seq != self.delivered_seq + 1:
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
        mine = await my_chats(self.svc, staff_id=self.staff_id)
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
                        why=describe_reason(r.reason, r.matched),
                        mood=r.mood,
                        locale=r.locale,
                        queued_at=r.queued_at.isoformat(),
                        front=r.front,
                        preview=r.preview,
                        person_away=r.person_away,
                    )
                    for r in rows
                ],
                available=available,
                mine=[
                    f.MineOut(
                        session_id=c.session_id,
                        priority=c.priority.name.lower(),
                        priority_label=c.priority.label,
                        mood=c.mood,
                        person_waiting=c.person_waiting,
                    )
                    for c in mine
                ],
            )
        )

    async def _send(self, frame: f.Out) -> None:
        if self.ws.application_state != WebSocketState.CONNECTED:
            raise WebSocketDisconnect
        async with self._lock:
            await self.ws.send_text(f.encoder.encode(frame).decode())
