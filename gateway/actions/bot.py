"""Running the bot for a session: one engine step, stored in one transaction.

The bot only ever speaks in the ``bot`` state; that is checked here, on the
server, under the session's row lock, whatever the client sent.

What the bot says about a counsellor depends on the service's real state
(``Context``): open or closed, how many counsellors are on duty (the counsellor
role only, signed in, available, seen recently: ``gateway/actions/queue.py``
``availability``), and, when the step puts the person in the queue, whether any
of them can take another chat. That last count is read only for a step that
escalates (the engine is pure, so the step is simply run again with it): other
steps never pay for it. So "nobody is on duty" (no counsellor at all) and
"everyone is busy" (on duty, all full) are told apart, and neither is said when
a counsellor can in fact come.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, exists, func, insert, or_, select, update

from bot_engine import (
    Context,
    ConversationState,
    End,
    Escalate,
    Reply,
    ScheduleCheckin,
    StepResult,
    TimerFired,
    UserMessage,
)
from gateway.actions.queue import Availability, availability, escalate
from gateway.actions.records import append_message, lock_session, message_added
from gateway.bot_inputs import BotInput
from gateway.events import Event, MessageAdded, session_channel
from gateway.models import ChatSession, Message
from gateway.services import Services, Transaction
from gateway.types import Priority, SenderKind, SessionState


@dataclass
class BotTurn:
    """What a bot step stored, to be delivered with typing delays after commit."""

    session_id: int
    events: list[Event] = field(default_factory=list)
    delays: dict[int, float] = field(default_factory=dict)  # seq -> typing delay
    end: End | None = None
    spoke: bool = False


def _priority(name: str) -> Priority:
    return Priority.CRISIS if name == "crisis" else Priority.REQUESTED


async def run_bot(svc: Services, *, session_id: int, event: BotInput) -> BotTurn:
    """Feed one input to the bot if, and only if, the session is with the bot."""
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        return await bot_step(svc, tx, chat, event)


async def bot_step(
    svc: Services,
    tx: Transaction,
    chat: ChatSession,
    event: BotInput,
    *,
    available: int | None = None,
) -> BotTurn:
    """One engine step inside the caller's unit of work (the session row is locked).

    The bot speaks only when the stored state is ``bot``; otherwise nothing happens.
    ``available`` is the number of counsellors on duty if the caller knows it (the
    process's current queue snapshot, ``LiveHub.counsellors_on_duty``); else it is
    counted here, and only for a step that looks at it (``_engine_step``).
    """
    turn = BotTurn(chat.id)
    if chat.state != SessionState.BOT.value:
        return turn
    before = len(tx.events)
    state = _state_of(svc, chat.bot_state, chat.locale)
    result = await _engine_step(svc, tx, chat.id, state, event, available)
    await _store_step(svc, tx, chat, result, turn)
    _take_turn_events(tx, before, turn)
    return turn


def _state_of(svc: Services, stored: dict[str, Any] | None, locale: str) -> ConversationState:
    return ConversationState.from_json(stored) if stored else svc.bot.new_state(locale)


async def _engine_step(
    svc: Services,
    tx: Transaction,
    session_id: int,
    state: ConversationState,
    event: BotInput,
    available: int | None,
) -> StepResult:
    """The engine's step with the service's real state (``Context``).

    The engine is pure, so a step is simply run again when a figure it looked at
    had to be read first: who is on duty, counted only when the caller did not pass
    it and the step asked (``StepResult.asked_staffing``; a step that did not ask
    gives the same result whatever the count), and, for a step that escalates,
    whether anyone on duty can take another chat.
    """
    context = Context(
        counsellors_available=available, service_open=svc.settings.hours.is_open(tx.now)
    )
    result = svc.bot.step(state, event, tx.now, context)
    if available is None and result.asked_staffing:
        available = (await _availability(svc, tx)).on_duty
        context = replace(context, counsellors_available=available)
        result = svc.bot.step(state, event, tx.now, context)
    escalation = next((o for o in result.outputs if isinstance(o, Escalate)), None)
    if escalation is not None and available and context.service_open:
        # On duty, but can anyone take this chat? Never promise a counsellor who is not there.
        crisis = escalation.priority.value == "crisis"
        # Read again in this transaction: the snapshot's figure may be a heartbeat old.
        on_duty, places = await _room_for(svc, tx, session_id, crisis=crisis)
        if on_duty == 0 or places <= 0:
            context = replace(context, counsellors_available=on_duty, free_places=places)
            result = svc.bot.step(state, event, tx.now, context)
    if svc.metrics is not None:
        svc.metrics.bot_turn()
    return result


async def _store_step(
    svc: Services, tx: Transaction, chat: ChatSession, result: StepResult, turn: BotTurn
) -> None:
    """Act on a step's outputs through the locked session's ORM row."""
    chat.bot_state = result.state.to_json()
    chat.mood = result.state.mood
    for output in result.outputs:
        if isinstance(output, Reply):
            message = await append_message(
                tx, chat, sender=SenderKind.BOT, text=output.text, quick_replies=_buttons(output)
            )
            turn.delays[message.seq] = output.typing_delay_s
            turn.spoke = True
        elif isinstance(output, Escalate):
            raised = await escalate(
                tx,
                chat,
                priority=_priority(output.priority.value),
                reason=output.reason,
                matched=output.matched,
                level=output.level,
                topic=output.topic,
            )
            if raised and svc.metrics is not None:
                svc.metrics.escalated(output.level.value)
        elif isinstance(output, ScheduleCheckin):
            chat.checkin_at = output.at
        elif isinstance(output, End):
            turn.end = output


def _buttons(reply: Reply) -> list[dict[str, str]] | None:
    return [{"label": q.label, "value": q.value} for q in reply.quick_replies] or None


def _take_turn_events(tx: Transaction, before: int, turn: BotTurn) -> None:
    """The step's session-channel events are delivered in order with typing pauses
    by the caller; everything else (the dashboards' queue) goes out at commit.
    The person reads the bot's words first, then sees the state change."""
    channel = session_channel(turn.session_id)
    added = tx.events[before:]
    mine = [e for c, e in added if c == channel]
    turn.events = [e for e in mine if isinstance(e, MessageAdded)] + [
        e for e in mine if not isinstance(e, MessageAdded)
    ]
    tx.events[before:] = [(c, e) for c, e in added if c != channel]


# The short path of a person's message to the bot (``tell_bot``), as Core statements
# built once: no ORM object is loaded, flushed or tracked.
_chats = cast(Table, ChatSession.__table__)
_messages = cast(Table, Message.__table__)
# The next seq for the person's message, only if the session is with the bot and the
# client id is new: the row lock (PostgreSQL), both checks, the person seen now, and
# what the step needs.
_SEQ_IF_WITH_BOT = (
    update(_chats)
    .where(
        _chats.c.id == bindparam("sid"),
        _chats.c.state == SessionState.BOT.value,
        ~exists().where(
            _messages.c.session_id == bindparam("sid"), _messages.c.client_id == bindparam("cid")
        ),
    )
    .values(
        last_seq=_chats.c.last_seq + 1,
        user_seen_at=bindparam("seen", type_=_chats.c.user_seen_at.type),
    )
    .returning(_chats.c.last_seq, _chats.c.locale, _chats.c.bot_state)
)
# What the step changed: the bot's state and mood, and the seq of its last reply.
_STEP_STORED = (
    update(_chats)
    .where(_chats.c.id == bindparam("sid"))
    .values(
        last_seq=bindparam("last", type_=_chats.c.last_seq.type),
        bot_state=bindparam("bot", type_=_chats.c.bot_state.type),
        mood=bindparam("mood", type_=_chats.c.mood.type),
    )
)
_STEP_STORED_CHECKIN = _STEP_STORED.values(
    checkin_at=bindparam("checkin", type_=_chats.c.checkin_at.type)
)
# The person's message and the bot's replies, one statement for them all.
_MESSAGES_ADDED = insert(_messages)


async def tell_bot(
    svc: Services,
    tx: Transaction,
    *,
    session_id: int,
    client_id: str,
    text: str,
    value: str | None,
    available: int | None = None,
) -> tuple[int, BotTurn] | None:
    """Store the person's message to the bot and the bot's answer: the seq of the
    message and the turn, or None (nothing written) when the session is not with the
    bot or already has a message with ``client_id`` (the caller's general path then
    tells a resend from a closed chat).

    The same rows and events as storing the message (``append_message``) and then
    ``bot_step``, in three statements and a fourth when the step asks who is on duty:
    the conditional ``UPDATE ... RETURNING`` (lock, checks and read in one), the step's
    ``UPDATE`` and one ``INSERT`` of every message. A step that escalates changes the
    queue, which takes the ORM path (``_store_step``) after the person's message.
    """
    connection = await tx.session.connection()
    row = (
        await connection.execute(
            _SEQ_IF_WITH_BOT, {"sid": session_id, "cid": client_id, "seen": tx.now}
        )
    ).one_or_none()
    if row is None:
        return None
    seq, locale, stored = row
    mine: dict[str, Any] = {
        "session_id": session_id,
        "seq": seq,
        "sender": SenderKind.USER.value,
        "counsellor_id": None,
        "text": text,
        "client_id": client_id,
        "quick_replies": None,
        "created_at": tx.now,
    }
    channel = session_channel(session_id)
    tx.publish_after_commit(
        channel,
        message_added(
            session_id=session_id,
            seq=seq,
            sender=SenderKind.USER,
            text=text,
            at=tx.now,
            client_id=client_id,
        ),
    )
    turn = BotTurn(session_id)
    before = len(tx.events)
    state = _state_of(svc, stored, locale)
    event = UserMessage(text=text, value=value)
    result = await _engine_step(svc, tx, session_id, state, event, available)
    if any(isinstance(output, Escalate) for output in result.outputs):
        await connection.execute(_MESSAGES_ADDED, [mine])
        chat = await lock_session(tx, session_id)
        await _store_step(svc, tx, chat, result, turn)
        _take_turn_events(tx, before, turn)
        return seq, turn
    rows = [mine]
    checkin: datetime | None = None
    for output in result.outputs:
        if isinstance(output, Reply):
            reply = {
                **mine,
                "seq": seq + len(rows),
                "sender": SenderKind.BOT.value,
                "text": output.text,
                "client_id": None,
                "quick_replies": _buttons(output),
            }
            rows.append(reply)
            said = message_added(
                session_id=session_id,
                seq=reply["seq"],
                sender=SenderKind.BOT,
                text=output.text,
                at=tx.now,
                client_id=None,
                quick_replies=reply["quick_replies"],
            )
            tx.publish_after_commit(channel, said)
            turn.delays[reply["seq"]] = output.typing_delay_s
            turn.spoke = True
        elif isinstance(output, ScheduleCheckin):
            checkin = output.at
        elif isinstance(output, End):
            turn.end = output
    step = {
        "sid": session_id,
        "last": seq + len(rows) - 1,
        "bot": result.state.to_json(),
        "mood": result.state.mood,
    }
    if checkin is None:
        await connection.execute(_STEP_STORED, step)
    else:
        await connection.execute(_STEP_STORED_CHECKIN, {**step, "checkin": checkin})
    await connection.execute(_MESSAGES_ADDED, rows)
    _take_turn_events(tx, before, turn)
    return seq, turn


async def _availability(svc: Services, tx: Transaction) -> Availability:
    return await availability(
        tx.session,
        tx.now,
        fresh_s=svc.settings.heartbeat_s * 3,
        max_chats=svc.settings.counsellor_max_chats,
    )


async def room_for(
    svc: Services, tx: Transaction, chat: ChatSession, *, crisis: bool
) -> tuple[int, int]:
    """Counsellors on duty, and how many more chats they can take now (each up to the
    chat limit) less the people already waiting ahead of ``chat`` (for a crisis, only
    other crises and chats put back by a counsellor are ahead). Read in the step's
    own transaction, not from the snapshot: this decides what a person is promised."""
    return await _room_for(svc, tx, chat.id, crisis=crisis)


async def _room_for(
    svc: Services, tx: Transaction, session_id: int, *, crisis: bool
) -> tuple[int, int]:
    staff = await _availability(svc, tx)
    ahead = select(func.count(ChatSession.id)).where(
        ChatSession.state == SessionState.QUEUED.value, ChatSession.id != session_id
    )
    if crisis:
        ahead = ahead.where(
            or_(ChatSession.priority == Priority.CRISIS.value, ChatSession.queue_front.is_(True))
        )
    return staff.on_duty, staff.free_places - int((await tx.session.execute(ahead)).scalar_one())


async def due_checkins(svc: Services) -> list[int]:
    """Sessions with the bot whose check-in time has come."""
    now = svc.clock()
    async with svc.read() as session:
        rows = await session.execute(
            select(ChatSession.id).where(
                ChatSession.state == SessionState.BOT.value, ChatSession.checkin_at <= now
            )
        )
        return list(rows.scalars())


async def fire_checkin(svc: Services, *, session_id: int) -> BotTurn | None:
    """Fire a due check-in once, whichever process sees it first: the claim on the
    timer and the bot's words are one unit of work. None: not due (any more)."""
    async with svc.transaction() as tx:
        taken = (
            await tx.session.execute(
                update(ChatSession)
                .where(
                    ChatSession.id == session_id,
                    ChatSession.state == SessionState.BOT.value,
                    ChatSession.checkin_at <= tx.now,
                )
                .values(checkin_at=None)
                .returning(ChatSession.id)
            )
        ).scalar_one_or_none()
        if taken is None:
            return None
        chat = await lock_session(tx, session_id)
        await tx.session.refresh(chat)
        return await bot_step(svc, tx, chat, TimerFired(kind="checkin"))
