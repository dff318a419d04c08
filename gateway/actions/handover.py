"""Passing a live chat on: to a named colleague (transfer) or back to the bot.

Both are decided under the session's row lock and only by the counsellor who
owns the chat. The person is told in plain words what is happening.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from bot_engine import SessionEvent
from gateway.actions.bot import BotTurn, bot_step
from gateway.actions.records import add_system_message, lock_session, set_state
from gateway.actions.staff import online_since
from gateway.events import (
    QUEUE_CHANNEL,
    ChatTransferred,
    QueueChanged,
    staff_channel,
)
from gateway.models import ChatSession, SessionNote, Staff
from gateway.services import Services
from gateway.types import SessionState, StaffRole

# A handover note is read by a colleague taking over a conversation: a few lines.
MAX_HANDOVER_CHARS = 2000


@dataclass(frozen=True)
class TransferResult:
    ok: bool
    # "not_yours", "no_such_colleague", "yourself", "offline", "at_capacity", "note_required"
    reason: str = ""
    to_name: str | None = None


async def transfer_session(
    svc: Services, *, session_id: int, from_staff: Staff, to_staff_id: int, note: str
) -> TransferResult:
    """Give a live chat to a colleague who is signed in, with a handover note.

    Counsellors can be given at most ``counsellor_max_chats``; supervisors and
    admins take a transfer whatever they hold, because escalating a difficult
    conversation to a supervisor must never be refused.
    """
    note = note.strip()
    if not note:
        return TransferResult(False, "note_required")
    if to_staff_id == from_staff.id:
        return TransferResult(False, "yourself")
    async with svc.transaction() as tx:
        # Staff row first, then the session: the same order as a claim, so no deadlock.
        target = (
            await tx.session.execute(select(Staff).where(Staff.id == to_staff_id).with_for_update())
        ).scalar_one_or_none()
        if target is None or not target.active:
            return TransferResult(False, "no_such_colleague")
        if target.seen_at is None or target.seen_at < online_since(svc, tx.now):
            return TransferResult(False, "offline", target.display_name)
        if not StaffRole(target.role).can_supervise:
            holding = (
                await tx.session.execute(
                    select(func.count(ChatSession.id)).where(
                        ChatSession.counsellor_id == target.id,
                        ChatSession.state == SessionState.LIVE.value,
                    )
                )
            ).scalar_one()
            if holding >= svc.settings.counsellor_max_chats:
                return TransferResult(False, "at_capacity", target.display_name)
        chat = await lock_session(tx, session_id)
        if chat.state != SessionState.LIVE or chat.counsellor_id != from_staff.id:
            return TransferResult(False, "not_yours")
        tx.session.add(
            SessionNote(
                session_id=chat.id,
                staff_id=from_staff.id,
                kind="handover",
                text=note[:MAX_HANDOVER_CHARS],
                created_at=tx.now,
            )
        )
        await add_system_message(
            tx,
            chat,
            f"You're being passed to another counsellor, {target.display_name}. "
            "They can read what you've talked about, so you won't have to start again.",
        )
        await set_state(tx, chat, SessionState.LIVE, counsellor=target, counsellor_id=target.id)
        await add_system_message(tx, chat, f"{target.display_name} has joined the chat.")
        tx.publish_after_commit(
            staff_channel(target.id),
            ChatTransferred(
                session_id=chat.id, to_staff_id=target.id, from_name=from_staff.display_name
            ),
        )
        tx.publish_after_commit(
            QUEUE_CHANNEL, QueueChanged(session_id=chat.id, reason="transferred")
        )
    return TransferResult(True, to_name=target.display_name)


async def hand_back_to_bot(svc: Services, *, session_id: int, staff: Staff) -> BotTurn | None:
    """The counsellor passes the person back to the bot, which greets them again.

    The state change and the bot's greeting are one unit of work; the returned
    turn is for the caller to deliver with typing pauses. None: not theirs to pass.
    """
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        if chat.state != SessionState.LIVE or chat.counsellor_id != staff.id:
            return None
        await add_system_message(
            tx,
            chat,
            f"{staff.display_name} has passed you back to the automatic helper. "
            "If you'd like to talk to a person again, just ask.",
        )
        await set_state(
            tx, chat, SessionState.BOT, counsellor_id=None, queue_front=False, checkin_at=None
        )
        tx.publish_after_commit(
            QUEUE_CHANNEL, QueueChanged(session_id=chat.id, reason="handed_back")
        )
        return await bot_step(svc, tx, chat, SessionEvent(kind="returned"))
