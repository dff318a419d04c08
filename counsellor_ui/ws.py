"""The counsellor websocket, ``/counsellor/ws``, as an adapter on the live core.

The handshake checks ``Origin`` and the session cookie, and, for a chat
(``?session=ID&after=SEQ``), that the counsellor holds it. The connection then
has the same guarantees as the widget's (``gateway/live/``): frames checked
against the limits, the transcript in ``seq`` order each once from the events
themselves (the database is read only to fill a gap), the queue pushed from
the process's one snapshot, lost events recovered on the heartbeat, and a
supervisor that closes the socket when any part fails instead of leaving it
open and deaf.

Authorisation: a sign-out or deactivation is an event on the staff channel
that closes the socket at once, and every heartbeat checks all the process's
workspace sign-ins in one query, in case that event was lost. Whether the
counsellor still holds the chat is tracked from its state events; the action
that stores a message checks it again under the session's lock.

This module holds the endpoint, ``counsellor_socket``, and the connection,
``CounsellorConnection``. The frames it sends are built in
``counsellor_ui/socket_frames.py``; a dashboard's live markers come from
``counsellor_ui/chat_watch.py``.
"""

from __future__ import annotations

from starlette.websockets import WebSocket

from counsellor_ui import frames as f
from counsellor_ui.auth import runtime_of, session_id_of, signed_in
from counsellor_ui.board import board_frame
from counsellor_ui.chat_watch import ChatWatch
from counsellor_ui.socket_frames import (
    ChatFrames,
    CounsellorCodec,
    error_out,
    offer_out,
    queue_out,
)
from gateway.actions.activity import signal_typing
from gateway.actions.handover import pending_offers
from gateway.actions.live_board import LiveBoard
from gateway.actions.messages import NotYourSession, post_counsellor_message
from gateway.actions.presence import SessionPulse
from gateway.actions.signin import SignedIn
from gateway.actions.snapshot import QueueSnapshot
from gateway.actions.supervision import post_as_supervisor, record_watch
from gateway.actions.workspace import chat_for_staff
from gateway.broker import Subscription
from gateway.broker.base import SubscriberOverflow
from gateway.events import (
    ChatTransferred,
    MessageAdded,
    SessionErased,
    SessionStateChanged,
    StaffSignedOut,
    TransferOffer,
    TypingChanged,
    Whisper,
    session_channel,
    staff_channel,
)
from gateway.inputs import InputError, parse_int
from gateway.live.feed import TranscriptFeed
from gateway.live.hub import LiveMember
from gateway.live.socket import FellBehind, LiveSocket
from gateway.live.supervisor import Supervisor
from gateway.protocol import Close
from gateway.runtime import Runtime
from gateway.types import SessionState, StaffRole

POLICY = Close.POLICY
# The state a chat page is told when the person deleted the conversation (it is
# closed in the database, with nothing of it left to show).
ERASED = "erased"


async def counsellor_socket(websocket: WebSocket) -> None:
    runtime = runtime_of(websocket)
    settings = runtime.svc.settings
    socket: LiveSocket[f.CounsellorFrame, f.Out] = LiveSocket(
        websocket, settings, CounsellorCodec(), error_out
    )
    who = await signed_in(websocket)
    cookie = session_id_of(websocket)
    # Only the gateway's own pages, never the widget's sites (settings.own_origins).
    if socket.origin.lower() not in settings.own_origins or who is None or cookie is None:
        await socket.refuse("not signed in or origin refused")
        return
    if who.staff.must_change_password:  # a reset password is replaced first (password_views)
        await socket.refuse("new password required")
        return
    session_id = None
    stored_seq = 0
    try:
        # ASCII digits within the columns' range, or the handshake is refused.
        raw_session = websocket.query_params.get("session")
        wanted = None if raw_session is None else parse_int(raw_session, name="session")
        after = parse_int(websocket.query_params.get("after", "0"), name="after")
    except InputError:
        await socket.refuse("bad query parameter")
        return
    supervises = StaffRole(who.staff.role).can_supervise
    # ``?watch=1``: a supervisor watching someone else's chat (the watch page).
    watching = supervises and websocket.query_params.get("watch") == "1"
    if wanted is not None:
        chat = await chat_for_staff(runtime.svc, session_id=wanted)
        if chat is None or (chat.counsellor_id != who.staff.id and not watching):
            await socket.refuse("not your chat")
            return
        session_id, stored_seq = chat.id, chat.last_seq
    connection = CounsellorConnection(socket, runtime, who, cookie, session_id)
    connection.watching = watching and session_id is not None
    if connection.watching:
        connection.holds = chat is not None and chat.counsellor_id == who.staff.id
        if not connection.holds and session_id is not None:
            await record_watch(runtime.svc, session_id=session_id, staff=who.staff, live=True)
    # ``?board=1``: the supervisors' live board, pushed from the hub's one read per change.
    connection.wants_board = supervises and websocket.query_params.get("board") == "1"
    # ``?presence=1``: a page that shows neither the queue nor a chat (canned
    # responses, a wrap-up form) only keeps its member of staff present (live.js):
    # the hub marks them seen each heartbeat, and pushes them no queue.
    connection.wants_queue = websocket.query_params.get("presence") != "1"
    await connection.run(after=after, stored_seq=stored_seq)


class CounsellorConnection(LiveMember):
    def __init__(
        self,
        socket: LiveSocket[f.CounsellorFrame, f.Out],
        runtime: Runtime,
        who: SignedIn,
        cookie: str,
        session_id: int | None,
    ) -> None:
        self.socket = socket
        self.runtime = runtime
        self.svc = runtime.svc
        self.who = who
        self.supervisor = Supervisor()
        self.subscription: Subscription | None = None
        self.feed: TranscriptFeed[f.MessageOut] | None = None
        # What the hub knows of this connection.
        self.staff_id = who.staff.id
        self.staff_cookie = cookie
        self.session_id = session_id
        self.wants_queue = True
        self.holds = session_id is not None
        self._stale: tuple[SessionState, int | None] | None = None
        self._watch: ChatWatch | None = None
        # A supervisor watching a chat they do not hold: its messages, read-only
        # unless they have joined (checked again under the session's lock).
        self.watching = False

    async def run(self, *, after: int, stored_seq: int) -> None:
        failure: BaseException | None = None
        try:
            await self.socket.accept()
            await self._serve(after, stored_seq)
        except SubscriberOverflow:
            failure = FellBehind()
        except Exception as exc:
            failure = exc
        finally:
            self.runtime.hub.leave(self)
            if self._watch is not None:
                await self._watch.close()
        await self.socket.end(failure)

    async def _serve(self, after: int, stored_seq: int) -> None:
        channels = [staff_channel(self.who.staff.id)]
        if self.session_id is not None:
            channels.append(session_channel(self.session_id))
        async with self.svc.broker.subscribe(*channels) as subscription:
            self.subscription = subscription
            if self.session_id is None and self.wants_queue:
                self._watch = ChatWatch(self.svc.broker, subscription.deliver)
            self.runtime.hub.join(self)
            if self.wants_board:
                self.runtime.hub.queue_changed()  # a fresh board for the page that just opened
            # The queue first, then the chat's history (the page relies on that order).
            await self._send_queue(await self.runtime.hub.snapshot_for(self))
            await self._send_pending_offers()
            if self.session_id is not None:
                self.feed = TranscriptFeed(
                    self.svc,
                    self.session_id,
                    self.socket.send,
                    ChatFrames(self.session_id),
                    delivered_seq=after,
                )
                await self.feed.catch_up(stored_seq)
            await self.supervisor.run(self._read_loop(), self._pump(subscription))

    # --- reading --------------------------------------------------------

    async def _read_loop(self) -> None:
        while True:
            frame = await self.socket.receive_frame()
            if frame is not None:
                await self.supervisor.step(self._handle(frame))

    async def _handle(self, frame: f.CounsellorFrame) -> None:
        client_id = frame.client_id if isinstance(frame, f.SayIn) else None
        # A supervisor watching writes only once joined (checked under the session's lock).
        watcher = self.watching and not self.holds
        if self.session_id is None or not (self.holds or watcher):
            await self.socket.send(
                f.ErrorOut(message="This chat is not yours to write to.", client_id=client_id)
            )
            return
        if isinstance(frame, f.TypingIn):
            if not watcher:
                await signal_typing(
                    self.svc, session_id=self.session_id, sender="counsellor", on=frame.on
                )
            return
        text = await self.socket.accept_text(frame.text, frame.client_id)
        if text is None:
            return
        post = post_as_supervisor if watcher else post_counsellor_message
        try:
            seq = await post(
                self.svc,
                session_id=self.session_id,
                staff=self.who.staff,
                client_id=frame.client_id,
                text=text,
            )
        except NotYourSession:
            message = "Join the chat before writing to the person."
            if not watcher:
                self.holds = False
                message = "This chat is no longer yours."
            await self.socket.send(f.ErrorOut(message=message, client_id=client_id))
            return
        await self.socket.send(f.AckOut(client_id=frame.client_id, seq=seq))

    # --- writing --------------------------------------------------------

    async def _pump(self, subscription: Subscription) -> None:
        async for item in subscription:
            if isinstance(item, QueueSnapshot):
                await self._send_queue(item)
            elif isinstance(item, LiveBoard):
                await self.socket.send(board_frame(item, self.socket.ws))
            elif isinstance(item, StaffSignedOut):
                if item.staff_id == self.staff_id:
                    await self.socket.close(POLICY, "signed out")
            elif isinstance(item, ChatTransferred):
                if item.to_staff_id == self.staff_id:
                    await self.socket.send(
                        f.TransferredOut(session_id=item.session_id, from_name=item.from_name)
                    )
            elif isinstance(item, TransferOffer):
                await self.socket.send(offer_out(item, self.who.staff.id))
            elif isinstance(item, MessageAdded) and self._watch is not None:
                marker = self._watch.marker(item)
                if marker is not None:
                    await self.socket.send(marker)
            elif getattr(item, "session_id", None) != self.session_id:
                continue
            elif isinstance(item, SessionStateChanged):
                await self._state_changed(item.state, item.counsellor_id, item.counsellor_name)
            elif isinstance(item, SessionErased):
                await self._erased(item.session_id)
            elif isinstance(item, Whisper):
                await self._whispered(item)
            elif not (self.holds or self.watching):
                continue  # released or passed on: nothing more of this chat reaches this socket
            elif isinstance(item, MessageAdded):
                await self._feed().on_event(item)  # the feed shields its gap reads
            elif isinstance(item, TypingChanged) and item.sender == "user":
                await self.socket.send(f.TypingOut(session_id=item.session_id, on=item.on))

    async def _state_changed(self, state: str, counsellor_id: int | None, name: str | None) -> None:
        assert self.session_id is not None
        self.holds = state == SessionState.LIVE and counsellor_id == self.staff_id
        await self.socket.send(
            f.StateOut(session_id=self.session_id, state=state, mine=self.holds, counsellor=name)
        )

    async def _erased(self, session_id: int) -> None:
        """The person deleted the conversation: the page clears the transcript and says so."""
        self.holds = False
        await self.socket.send(f.StateOut(session_id=session_id, state=ERASED, mine=False))

    async def _send_queue(self, snapshot: QueueSnapshot) -> None:
        if self._watch is not None:
            # Following the chats before the page hears of them: no message slips between.
            await self._watch.follow(snapshot.chats_of(self.who.staff.id))
        await self.socket.send(queue_out(snapshot, self.who.staff.id))

    async def _send_pending_offers(self) -> None:
        """Open transfer offers to or from this counsellor (later ones arrive as events)."""
        for offer in await pending_offers(self.svc, staff_id=self.who.staff.id):
            await self.socket.send(offer_out(offer, self.who.staff.id))

    # --- the hub's part -------------------------------------------------

    def on_snapshot(self, snapshot: QueueSnapshot) -> None:
        if self.subscription is not None:
            self.subscription.deliver(snapshot)

    def on_board(self, board: LiveBoard) -> None:
        if self.subscription is not None:
            self.subscription.deliver(board)

    # --- supervision ----------------------------------------------------

    async def _whispered(self, event: Whisper) -> None:
        """A supervisor's private word, for the counsellor's own chat page only."""
        if event.to_staff_id == self.staff_id and self.holds:
            await self.socket.send(
                f.WhisperOut(
                    session_id=event.session_id,
                    from_name=event.from_name,
                    text=event.text,
                    at=event.at,
                )
            )

    def on_signed_out(self) -> None:
        self.supervisor.background(self.socket.close(POLICY, "signed out"))

    def on_pulse(self, pulse: SessionPulse | None) -> None:
        if pulse is None or self.session_id is None:
            return
        stored = (pulse.state, pulse.counsellor_id)
        holds = pulse.state == SessionState.LIVE and pulse.counsellor_id == self.staff_id
        if holds != self.holds:
            # Taken only if it differed twice running: its event may be on its way.
            if self._stale == stored:
                self._stale = None
                self.supervisor.background(
                    self._state_changed(
                        pulse.state.value, pulse.counsellor_id, pulse.counsellor_name
                    )
                )
            else:
                self._stale = stored
            return
        self._stale = None
        feed = self.feed
        if not (self.holds or self.watching) or feed is None:
            return  # not theirs, or still opening (the catch-up is under way)
        if feed.needs_resync(pulse.last_seq):
            self.supervisor.background(feed.resync(pulse.last_seq))
        now = self.svc.clock()
        seen_s = max(0, int((now - pulse.user_seen_at).total_seconds()))
        gone = seen_s > self.svc.settings.heartbeat_s * 3
        self.supervisor.background(
            self.socket.send(f.PersonOut(session_id=self.session_id, seen_s=seen_s, gone=gone))
        )

    def _feed(self) -> TranscriptFeed[f.MessageOut]:
        assert self.feed is not None, "used before the chat was opened"
        return self.feed
