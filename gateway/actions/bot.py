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

from sqlalchemy import func, or_, select, update

from bot_engine import (
    Context,
    ConversationState,
    End,
    Escalate,
    Reply,
    ScheduleCheckin,
    TimerFired,
)
from gateway.actions.queue import Availability, availability, escalate
from gateway.actions.records import append_message, lock_session
from gateway.bot_inputs import BotInput
from gateway.events import Event, MessageAdded, session_channel
from gateway.models import ChatSession
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
    counted here.
    """
    turn = BotTurn(chat.id)
    if chat.state != SessionState.BOT.value:
        return turn
    channel = session_channel(chat.id)
    before = len(tx.events)
    state = (
        ConversationState.from_json(chat.bot_state)
        if chat.bot_state
        else svc.bot.new_state(chat.locale)
    )
    if available is None:
        available = (await _availability(svc, tx)).on_duty
    context = Context(
        counsellors_available=available, service_open=svc.settings.hours.is_open(tx.now)
    )
    result = svc.bot.step(state, event, tx.now, context)
    escalation = next((o for o in result.outputs if isinstance(o, Escalate)), None)
    if escalation is not None and available and context.service_open:
        # On duty, but can anyone take this chat? Never promise a counsellor who is not there.
        crisis = escalation.priority.value == "crisis"
        # Read again in this transaction: the snapshot's figure may be a heartbeat old.
        on_duty, places = await room_for(svc, tx, chat, crisis=crisis)
        if on_duty == 0 or places <= 0:
            context = replace(context, counsellors_available=on_duty, free_places=places)
            result = svc.bot.step(state, event, tx.now, context)
    if svc.metrics is not None:
        svc.metrics.bot_turn()
    chat.bot_state = result.state.to_json()
    chat.mood = result.state.mood
    for output in result.outputs:
        if isinstance(output, Reply):
            replies = [{"label": q.label, "value": q.value} for q in output.quick_replies]
            message = await append_message(
                tx, chat, sender=SenderKind.BOT, text=output.text, quick_replies=replies or None
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
    # The step's session-channel events are delivered in order with typing pauses
    # by the caller; everything else (the dashboards' queue) goes out at commit.
    # The person reads the bot's words first, then sees the state change.
    added = tx.events[before:]
    mine = [e for c, e in added if c == channel]
    turn.events = [e for e in mine if isinstance(e, MessageAdded)] + [
        e for e in mine if not isinstance(e, MessageAdded)
    ]
    tx.events[before:] = [(c, e) for c, e in added if c != channel]
    return turn


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
    staff = await _availability(svc, tx)
    ahead = select(func.count(ChatSession.id)).where(
        ChatSession.state == SessionState.QUEUED.value, ChatSession.id != chat.id
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
