"""The widget's websocket, ``/ws/chat`` (PROTOCOL.md v1), as an adapter on the live core.

The reader validates every frame and calls one action per intent; the pump
turns broker events (and the hub's queue snapshots) into frames, with the
transcript going through a ``TranscriptFeed`` so messages are sent in
``seq`` order, each once. The hub's heartbeat brings presence, the stored
pulse (lost events, lost state changes) and the idle rule. The supervisor
ends the connection when any part ends or fails: no input ends the worker; an
unexpected failure closes this connection with 1011 (the client resumes) and
is logged without its text. The frames themselves are built in
``gateway/live/widget_frames.py``; the abuse limits' side in ``gateway/live/guard.py``.
"""

from __future__ import annotations

import time

import msgspec
from starlette.websockets import WebSocket

from bot_engine import AskCounsellor as BotAskCounsellor
from bot_engine import SessionEvent, UserMessage
from gateway import protocol as p
from gateway.abuse import Limit
from gateway.actions.activity import signal_typing
from gateway.actions.bot import BotTurn
from gateway.actions.conversation import open_session, person_says
from gateway.actions.floods import mark_flood
from gateway.actions.messages import SessionClosed
from gateway.actions.presence import SessionPulse
from gateway.actions.ratings import RatingRefused, rate_session
from gateway.actions.sessions import (
    SessionView,
    erase_session,
    find_session,
    leave_session,
    session_view,
)
from gateway.actions.snapshot import QueueSnapshot
from gateway.broker import Subscription
from gateway.broker.base import SubscriberOverflow
from gateway.events import (
    MessageAdded,
    SessionErased,
    SessionStateChanged,
    TypingChanged,
    session_channel,
)
from gateway.live.feed import TranscriptFeed
from gateway.live.guard import (
    answered_challenge,
    message_costs,
    refusal,
    refuse_later,
    resume_costs,
    turn_away,
)
from gateway.live.hub import LiveMember
from gateway.live.socket import QUIET, FellBehind, LiveSocket
from gateway.live.supervisor import Supervisor
from gateway.live.widget_frames import (
    WidgetCodec,
    WidgetFrames,
    error_frame,
    helplines_out,
    service_out,
)
from gateway.ratelimit import Admit
from gateway.runtime import Runtime
from gateway.types import SessionState


async def chat_endpoint(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.state.runtime
    await ChatConnection(websocket, runtime).run()


class ChatConnection(LiveMember):
    def __init__(self, websocket: WebSocket, runtime: Runtime) -> None:
        self.runtime = runtime
        self.svc = runtime.svc
        self.settings = runtime.svc.settings
        self.socket: LiveSocket[p.ClientFrame, p.ServerFrame] = LiveSocket(
            websocket, self.settings, WidgetCodec(), error_frame
        )
        self.supervisor = Supervisor()
        self.frames = WidgetFrames(runtime.svc.bot)
        self.abuse = runtime.abuse
        self.address_key = ""
        self.view: SessionView | None = None
        self.state = SessionState.BOT
        self.feed: TranscriptFeed[p.MessageOut] | None = None
        self.subscription: Subscription | None = None
        self.last_queue_frame: p.QueueOut | None = None
        self._stale_state: SessionState | None = None
        self._ended_at = 0.0

    # --- lifecycle ------------------------------------------------------

    async def run(self) -> None:
        socket = self.socket
        if socket.origin not in self.settings.effective_allowed_origins:
            await socket.refuse("origin not allowed")
            return
        address = socket.address  # only a key in this process's memory while open
        # The address as the abuse limits know it: a keyed hash (gateway/abuse/).
        self.address_key = self.abuse.limits.address(address)
        admit = self.runtime.addresses.acquire(address)
        if admit is not Admit.OPEN:
            await turn_away(socket, self.runtime.addresses, address, admit)
            return
        failure: BaseException | None = None
        try:
            await socket.accept()
            await self._serve()
        except SubscriberOverflow:
            failure = FellBehind()
        except Exception as exc:
            failure = exc
        finally:
            self.runtime.hub.leave(self)
            self.runtime.addresses.release(address)
        await socket.end(failure)

    async def _serve(self) -> None:
        hello = await self._receive_hello()
        view, token, greeting = await self._open_session(hello)
        async with self.svc.broker.subscribe(session_channel(view.id)) as subscription:
            self.subscription = subscription
            if token is None:
                # Read the session again now that no event about it can be missed.
                view = await session_view(self.svc, session_id=view.id)
            self.view = view
            self.session_id = view.id
            self.frames.locale = view.locale
            self._set_state(view.state)
            self.runtime.hub.join(self)
            # A new session's greeting is on its way as events: say so after welcome.
            last_seq = 0 if greeting is not None else view.last_seq
            welcome = p.Welcome(
                v=p.VERSION,
                state=view.state.wire,
                last_seq=last_seq,
                token=token,
                locales=self.svc.bot.locales,
                helplines=helplines_out(self.svc.bot, view.locale),
                service=service_out(self.settings),
            )
            await self.socket.send(welcome)
            # A client ahead of the server (PROTOCOL.md 6) is sent everything again.
            after = 0 if hello.last_seq > last_seq else hello.last_seq
            self.feed = TranscriptFeed(
                self.svc, view.id, self.socket.send, self.frames, delivered_seq=after
            )
            await self.feed.catch_up(last_seq)
            if greeting is not None:
                # A new session: its greeting was stored with it, and goes out now with
                # its typing pauses (the feed starts after it: nothing to read back).
                self.runtime.deliver(greeting)
            elif view.state == SessionState.BOT and view.last_seq == 0:
                # A session whose greeting an older release never stored.
                await self.runtime.bot_turn(view.id, SessionEvent(kind="started"))
            elif view.state == SessionState.BOT and view.unanswered is not None:
                # Stored before this release answered in the same unit of work.
                await self.runtime.bot_turn(view.id, UserMessage(text=view.unanswered))
            elif view.state == SessionState.LIVE:
                await self.socket.send(p.StateOut(state="live", counsellor=view.counsellor_name))
            elif view.state == SessionState.QUEUED:
                self.runtime.hub.want_queue(self)
            await self.supervisor.run(self._read_loop(), self._pump(subscription))

    async def _receive_hello(self) -> p.Hello:
        raw = await self.socket.receive_first(self.settings.hello_timeout_s)
        detail = "The first frame must be a hello."
        if isinstance(raw, str) and self.socket.within_size(raw):
            try:
                frame = p.decode_client_frame(raw)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                detail = f"The first frame must be a valid hello: {p.refusal_detail(exc)}"
            else:
                if isinstance(frame, p.Hello):
                    return frame
        await self.socket.final(p.error("bad_frame", detail=detail), p.Close.BAD_HELLO, "bad hello")

    async def _open_session(self, hello: p.Hello) -> tuple[SessionView, str | None, BotTurn | None]:
        if hello.token is None:
            return await self._new_session(hello)
        # Resumes are bounded (docs/security.md, "Abuse"): an address resuming over and
        # over is refused before any database read; then the session's own limits and
        # the lines a resume from far back would send again.
        refused = await self.abuse.limits.hit(Limit.RESUMES_PER_ADDRESS, self.address_key)
        if refused is not None:
            await refuse_later(self.socket, refusal(refused))
        session = await find_session(self.svc, token=hello.token)
        if session is None:
            await self.socket.final(
                p.error("unknown_token"), p.Close.UNKNOWN_TOKEN, "unknown token"
            )
        refused = await self.abuse.limits.hit_all(
            resume_costs(session, hello.last_seq, self.address_key)
        )
        if refused is not None:
            await refuse_later(self.socket, refusal(refused))
        return session, None, None

    async def _new_session(self, hello: p.Hello) -> tuple[SessionView, str, BotTurn]:
        """A new session within the address's limits, with a proof of work when the
        service asks for one (gateway/abuse/), and in its flood group if it is one."""
        abuse = self.abuse
        refused = await abuse.limits.hit(Limit.SESSIONS_PER_ADDRESS, self.address_key)
        if refused is not None:
            helplines = self.svc.bot.helplines(self.svc.bot.locale_for(hello.locale or "en"))
            await refuse_later(self.socket, refusal(refused, helplines=helplines))
        if await abuse.challenges.required():
            hello = await answered_challenge(self.socket, abuse.challenges, hello)
        view, token, turn = await open_session(
            self.svc,
            locale=(hello.locale or "en").lower(),
            available=self.runtime.hub.counsellors_on_duty(),
        )
        await abuse.challenges.count_new_session()
        mark = await abuse.floods.new_session(self.address_key, view.id)
        if mark is not None:
            await mark_flood(self.svc, label=mark.label, session_ids=(view.id, *mark.earlier))
        return view, token, turn

    def _set_state(self, state: SessionState) -> None:
        self.state = state
        self.person_present = not state.finished
        self.wants_queue = state == SessionState.QUEUED
        if state.finished and not self._ended_at:
            self._ended_at = time.monotonic()  # the idle rule starts at the end

    # --- reading --------------------------------------------------------

    async def _read_loop(self) -> None:
        while True:
            frame = await self.socket.receive_frame()
            if frame is not None:
                await self.supervisor.step(self._handle(frame))

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
                left = await leave_session(self.svc, session_id=session_id)
                # The helplines they were given go out before the connection closes.
                await self._feed().catch_up(left.notice_seq)
                await self.socket.close(p.Close.NORMAL, "left")
            case p.Erase():
                await erase_session(self.svc, session_id=session_id)
                await self.socket.final(p.Erased(), p.Close.NORMAL, "erased")
            case p.Rating(score=score, comment=comment):
                try:
                    await rate_session(
                        self.svc, session_id=session_id, score=score, comment=comment
                    )
                except RatingRefused as exc:
                    await self.socket.send(p.error("not_now", detail=str(exc)))
                else:
                    await self.socket.send(p.Rated())
            case p.Hello():
                await self.socket.reject("bad_frame", detail="hello was already received.")

    async def _ask_counsellor(self) -> None:
        if self.state.finished:
            await self.socket.send(p.error("closed"))
        elif self.state == SessionState.QUEUED:
            self.last_queue_frame = None
            self.runtime.hub.want_queue(self)
        elif self.state == SessionState.LIVE:
            await self.socket.send(p.error("not_now", detail="A counsellor is already here."))
        else:
            refused = await self.abuse.limits.hit(Limit.ESCALATIONS_PER_ADDRESS, self.address_key)
            if refused is not None:
                helplines = self.svc.bot.helplines(self._view().locale)
                await self.socket.send(refusal(refused, helplines=helplines))
                return
            await self.runtime.bot_turn(self._view().id, BotAskCounsellor())

    async def _say(self, frame: p.Say) -> None:
        client_id = frame.client_id
        text = await self.socket.accept_text(frame.text, client_id)
        if text is None:
            return
        # Per session and per address, across connections: a reconnect resets nothing.
        refused = await self.abuse.limits.hit_all(message_costs(self._view().id, self.address_key))
        if refused is not None:
            await self.socket.send(refusal(refused, client_id=client_id))
            return
        self.frames.own_client_ids.add(client_id)
        try:
            said = await person_says(
                self.svc,
                session_id=self._view().id,
                client_id=client_id,
                text=text,
                value=frame.value,
                available=self.runtime.hub.counsellors_on_duty(),
                expected=self.state,
            )
        except SessionClosed:
            self.frames.own_client_ids.discard(client_id)
            await self.socket.send(p.error("closed", client_id=client_id))
            return
        await self.socket.send(p.Ack(client_id=client_id, seq=said.seq))
        if said.turn is not None:
            self.runtime.deliver(said.turn)

    # --- writing --------------------------------------------------------

    async def _pump(self, subscription: Subscription) -> None:
        async for item in subscription:
            match item:
                case MessageAdded():
                    # No step of its own: the feed shields the only work that must
                    # not be cut short (a gap read), and a send may be.
                    await self._feed().on_event(item)
                case TypingChanged(sender="bot" | "counsellor" as sender):
                    await self.socket.send(p.TypingOut(from_=sender, on=item.on))
                case SessionStateChanged():
                    state = SessionState(item.state)
                    await self._state_changed(state, item.counsellor_name, kept=item.kept)
                case SessionErased():
                    await self.socket.final(p.Erased(), p.Close.NORMAL, "erased")
                case QueueSnapshot():
                    await self._send_queue(item)

    async def _state_changed(
        self, state: SessionState, counsellor: str | None, *, kept: bool = True
    ) -> None:
        was_queued = self.state == SessionState.QUEUED
        self._set_state(state)
        await self.socket.send(p.StateOut(state=state.wire, counsellor=counsellor, kept=kept))
        if state == SessionState.QUEUED and not was_queued:
            self.last_queue_frame = None
            self.runtime.hub.want_queue(self)

    async def _send_queue(self, snapshot: QueueSnapshot) -> None:
        if self.state != SessionState.QUEUED:
            return
        view = self._view()
        position = snapshot.position_of(view.id)
        if position is None:
            return  # the snapshot predates this session's escalation; another follows
        frame = p.QueueOut(
            position=position.position,
            estimated_wait_s=position.estimated_wait_s,
            counsellors_available=position.counsellors_available,
            counsellors_on_duty=position.counsellors_on_duty,
            wait_outlook=position.wait_outlook,
            wait_range_s=position.wait_range_s,
            # Helplines, so that the queue is never a dead end (PROTOCOL.md 10).
            alternatives=self.svc.bot.helplines(view.locale),
        )
        if frame != self.last_queue_frame:
            self.last_queue_frame = frame
            await self.socket.send(frame)

    # --- the hub's part -------------------------------------------------

    def on_snapshot(self, snapshot: QueueSnapshot) -> None:
        if self.subscription is not None:
            self.subscription.deliver(snapshot)

    def on_pulse(self, pulse: SessionPulse | None) -> None:
        if pulse is None:
            return  # deleted: an erase event is on its way or was lost with its session
        feed = self.feed
        if self.state.finished and pulse.state.finished:
            idle = time.monotonic() - max(self.socket.last_frame_at, self._ended_at)
            if idle >= self.settings.idle_timeout_s:
                self.supervisor.background(self.socket.close(p.Close.NORMAL, "idle"))
            return
        if feed is not None and feed.needs_resync(pulse.last_seq):
            self.supervisor.background(feed.resync(pulse.last_seq))
        self._check_state(pulse)

    def _check_state(self, pulse: SessionPulse) -> None:
        """Take the stored state if it differed twice running (its event was lost).

        Once is not enough: a bot's escalation is stored before its typing pause.
        """
        if pulse.state == self.state:
            self._stale_state = None
        elif self._stale_state == pulse.state:
            self._stale_state = None
            self.supervisor.background(self._state_changed(pulse.state, pulse.counsellor_name))
        else:
            self._stale_state = pulse.state

    # --- helpers --------------------------------------------------------

    def _view(self) -> SessionView:
        assert self.view is not None, "used before hello"
        return self.view

    def _feed(self) -> TranscriptFeed[p.MessageOut]:
        assert self.feed is not None, "used before hello"
        return self.feed


__all__ = ["QUIET", "ChatConnection", "WidgetFrames", "chat_endpoint"]
