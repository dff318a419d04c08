"""Passing a live chat on: to a named colleague (a transfer offer) or back to the bot.

A transfer is an offer. The sender picks a colleague and writes a handover
note; the chat stays theirs (still live, they keep chatting) until the
colleague accepts. Only then does the chat move, under the session's row lock
with the colleague's capacity checked again, and only then is the person told
who has joined. A declined, cancelled or unanswered offer (``transfer_timeout_s``)
goes back to the sender, who is told. One offer per chat at a time; it lives
in two columns of the session (``transfer_to_id``, ``transfer_offered_at``), so
it survives a restart and any process may answer or expire it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from bot_engine import SessionEvent
from gateway.actions.audit import (
    RELEASE,
    TRANSFER_ACCEPT,
    TRANSFER_CANCEL,
    TRANSFER_DECLINE,
    TRANSFER_EXPIRE,
    TRANSFER_OFFER,
    audit,
)
from gateway.actions.bot import BotTurn, bot_step
from gateway.actions.records import add_system_message, lock_session, set_state
from gateway.actions.staff import online_since
from gateway.events import (
    QUEUE_CHANNEL,
    ChatTransferred,
    QueueChanged,
    TransferOffer,
    staff_channel,
)
from gateway.models import ChatSession, SessionNote, Staff, StaffSession
from gateway.services import Services, Transaction
from gateway.types import SessionState, StaffRole

# A handover note is read by a colleague taking over a conversation: a few lines.
MAX_HANDOVER_CHARS = 2000


@dataclass(frozen=True)
class TransferResult:
    ok: bool
    # offer: "not_yours", "no_such_colleague", "yourself", "offline", "at_capacity",
    # "note_required", "pending" (this chat is already offered to someone);
    # accept: "no_offer" (not, or no longer, offered to you), "at_capacity"
    reason: str = ""
    to_name: str | None = None
    from_name: str | None = None


async def _holding(tx: Transaction, staff_id: int) -> int:
    return int(
        (
            await tx.session.execute(
                select(func.count(ChatSession.id)).where(
                    ChatSession.counsellor_id == staff_id,
                    ChatSession.state == SessionState.LIVE.value,
                )
            )
        ).scalar_one()
    )


async def _has_room(svc: Services, tx: Transaction, staff: Staff) -> bool:
    """Counsellors take at most ``counsellor_max_chats``; supervisors and admins take
    a transfer whatever they hold, because escalating a difficult conversation to a
    supervisor must never be refused."""
    if StaffRole(staff.role).can_supervise:
        return True
    return await _holding(tx, staff.id) < svc.settings.counsellor_max_chats


async def offer_transfer(
    svc: Services, *, session_id: int, from_staff: Staff, to_staff_id: int, note: str
) -> TransferResult:
    """Offer a live chat to a colleague who is signed in, with a handover note.

    Capacity is checked now (so nobody is offered what they cannot take) and
    again when they accept.
    """
    note = note.strip()
    if not note:
        return TransferResult(False, "note_required")
    if to_staff_id == from_staff.id:
        return TransferResult(False, "yourself")
    async with svc.transaction() as tx:
        target = await tx.session.get(Staff, to_staff_id)
        if target is None or not target.active:
            return TransferResult(False, "no_such_colleague")
        if target.seen_at is None or target.seen_at < online_since(svc, tx.now):
            return TransferResult(False, "offline", target.display_name)
        if not await _has_room(svc, tx, target):
            return TransferResult(False, "at_capacity", target.display_name)
        chat = await lock_session(tx, session_id)
        if chat.state != SessionState.LIVE or chat.counsellor_id != from_staff.id:
            return TransferResult(False, "not_yours")
        if chat.transfer_to_id is not None:
            pending = await tx.session.get(Staff, chat.transfer_to_id)
            return TransferResult(False, "pending", pending.display_name if pending else None)
        note = note[:MAX_HANDOVER_CHARS]
        tx.session.add(
            SessionNote(
                session_id=chat.id,
                staff_id=from_staff.id,
                kind="handover",
                text=note,
                created_at=tx.now,
            )
        )
        chat.transfer_to_id = target.id
        chat.transfer_offered_at = tx.now
        audit(
            tx,
            TRANSFER_OFFER,
            staff_id=from_staff.id,
            session_id=chat.id,
            detail=f"to {target.display_name}",
        )
        _tell_both(
            tx,
            TransferOffer(
                session_id=chat.id,
                status="offered",
                from_staff_id=from_staff.id,
                from_name=from_staff.display_name,
                to_staff_id=target.id,
                to_name=target.display_name,
                note=note,
            ),
        )
    return TransferResult(True, to_name=target.display_name)


def _tell_both(tx: Transaction, event: TransferOffer) -> None:
    """The sender's and the colleague's workspaces (every page they have open)."""
    tx.publish_after_commit(staff_channel(event.to_staff_id), event)
    if event.from_staff_id != event.to_staff_id:
        tx.publish_after_commit(staff_channel(event.from_staff_id), event)


async def _close_offer(tx: Transaction, chat: ChatSession, status: str) -> TransferOffer | None:
    """Clear the chat's offer and tell both sides what became of it."""
    to_id, from_id = chat.transfer_to_id, chat.counsellor_id
    chat.transfer_to_id = None
    chat.transfer_offered_at = None
    if to_id is None:
        return None
    target = await tx.session.get(Staff, to_id)
    sender = await tx.session.get(Staff, from_id) if from_id is not None else None
    event = TransferOffer(
        session_id=chat.id,
        status=status,
        from_staff_id=sender.id if sender else 0,
        from_name=sender.display_name if sender else "",
        to_staff_id=to_id,
        to_name=target.display_name if target else "",
    )
    if sender is None:
        tx.publish_after_commit(staff_channel(to_id), event)
    else:
        _tell_both(tx, event)
    return event


async def accept_transfer(svc: Services, *, session_id: int, staff: Staff) -> TransferResult:
    """The colleague takes the chat offered to them; only now is the person told."""
    async with svc.transaction() as tx:
        # Staff row first, then the session: the same order as a claim, so no deadlock,
        # and a claim racing this accept waits for it (capacity is counted once).
        target = (
            await tx.session.execute(select(Staff).where(Staff.id == staff.id).with_for_update())
        ).scalar_one_or_none()
        chat = await lock_session(tx, session_id)
        if (
            target is None
            or not target.active
            or chat.transfer_to_id != staff.id
            or chat.state != SessionState.LIVE
            or chat.counsellor_id is None
            # Released and claimed by someone else since: the offer is stale.
            or (
                chat.claimed_at is not None
                and chat.transfer_offered_at is not None
                and chat.claimed_at > chat.transfer_offered_at
            )
        ):
            return TransferResult(False, "no_offer")
        if not await _has_room(svc, tx, target):
            return TransferResult(False, "at_capacity", target.display_name)
        sender = await tx.session.get(Staff, chat.counsellor_id)
        await _close_offer(tx, chat, "accepted")
        from_name = sender.display_name if sender else ""
        audit(
            tx, TRANSFER_ACCEPT, staff_id=target.id, session_id=chat.id, detail=f"from {from_name}"
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
            ChatTransferred(session_id=chat.id, to_staff_id=target.id, from_name=from_name),
        )
        tx.publish_after_commit(
            QUEUE_CHANNEL, QueueChanged(session_id=chat.id, reason="transferred")
        )
    return TransferResult(True, to_name=target.display_name, from_name=from_name)


async def decline_transfer(svc: Services, *, session_id: int, staff: Staff) -> bool:
    """The colleague says no: the offer goes back to the sender, who is told."""
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        if chat.transfer_to_id != staff.id:
            return False
        await _close_offer(tx, chat, "declined")
        audit(tx, TRANSFER_DECLINE, staff_id=staff.id, session_id=chat.id)
    return True


async def cancel_transfer(svc: Services, *, session_id: int, staff: Staff) -> bool:
    """The sender withdraws their offer before it is answered."""
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        if chat.transfer_to_id is None or chat.counsellor_id != staff.id:
            return False
        await _close_offer(tx, chat, "cancelled")
        audit(tx, TRANSFER_CANCEL, staff_id=staff.id, session_id=chat.id)
    return True


def _offer_lapsed(svc: Services, now: datetime) -> ColumnElement[bool]:
    """An open offer that can no longer be accepted, or has waited too long."""
    target = aliased(Staff)
    signed_in = exists().where(
        StaffSession.staff_id == ChatSession.transfer_to_id, StaffSession.expires_at > now
    )
    usable = exists().where(
        target.id == ChatSession.transfer_to_id,
        target.active.is_(True),
        target.seen_at >= online_since(svc, now),
    )
    return and_(
        # An offer sets both columns; this one is indexed, so the timer's check each
        # second reads the few open offers, not every session (PostgreSQL's plan).
        ChatSession.transfer_offered_at.is_not(None),
        ChatSession.transfer_to_id.is_not(None),
        or_(
            ChatSession.transfer_offered_at
            < now - timedelta(seconds=svc.settings.transfer_timeout_s),
            ChatSession.state != SessionState.LIVE.value,
            ChatSession.claimed_at > ChatSession.transfer_offered_at,
            ~signed_in,
            ~usable,
        ),
    )


def _timeout_cutoff(svc: Services, now: datetime) -> datetime:
    return now - timedelta(seconds=svc.settings.transfer_timeout_s)


async def due_transfer_offers(svc: Services) -> list[int]:
    """Open offers to expire: unanswered too long, or no longer answerable."""
    async with svc.read() as session:
        rows = await session.execute(select(ChatSession.id).where(_offer_lapsed(svc, svc.clock())))
        return list(rows.scalars())


async def expire_transfer_offer(svc: Services, *, session_id: int) -> bool:
    """Fire one offer's timer: it goes back to the sender, once, if still due."""
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        due = (
            await tx.session.execute(
                select(ChatSession.id).where(
                    ChatSession.id == session_id, _offer_lapsed(svc, tx.now)
                )
            )
        ).scalar_one_or_none()
        if due is None:
            return False
        timed_out = (
            chat.state == SessionState.LIVE
            and chat.transfer_offered_at is not None
            and chat.transfer_offered_at < _timeout_cutoff(svc, tx.now)
        )
        offer = await _close_offer(tx, chat, "expired" if timed_out else "withdrawn")
        to_name = f" to {offer.to_name}" if offer and offer.to_name else ""
        audit(
            tx,
            TRANSFER_EXPIRE,
            session_id=chat.id,
            detail=f"offer{to_name} "
            + ("unanswered in time" if timed_out else "no longer answerable"),
        )
    return True


@dataclass(frozen=True)
class PendingOffer:
    """An open offer as a workspace shows it when it opens (later ones arrive live)."""

    session_id: int
    from_staff_id: int
    from_name: str
    to_staff_id: int
    to_name: str
    note: str


async def pending_offers(svc: Services, *, staff_id: int) -> list[PendingOffer]:
    """Open offers made to or by this member of staff, oldest first."""
    sender, target = aliased(Staff), aliased(Staff)
    latest_note = (
        select(SessionNote.text)
        .where(SessionNote.session_id == ChatSession.id, SessionNote.kind == "handover")
        .order_by(SessionNote.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    async with svc.read() as session:
        rows = (
            await session.execute(
                select(ChatSession.id, sender, target, latest_note)
                .join(sender, sender.id == ChatSession.counsellor_id)
                .join(target, target.id == ChatSession.transfer_to_id)
                .where(
                    ChatSession.state == SessionState.LIVE.value,
                    or_(
                        ChatSession.transfer_to_id == staff_id,
                        ChatSession.counsellor_id == staff_id,
                    ),
                )
                .order_by(ChatSession.transfer_offered_at)
            )
        ).all()
    return [
        PendingOffer(chat_id, s.id, s.display_name, t.id, t.display_name, note or "")
        for chat_id, s, t, note in rows
    ]


async def hand_back_to_bot(svc: Services, *, session_id: int, staff: Staff) -> BotTurn | None:
    """The counsellor passes the person back to the bot, which greets them again.

    The state change and the bot's greeting are one unit of work; the returned
    turn is for the caller to deliver with typing pauses. None: not theirs to pass.
    """
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        if chat.state != SessionState.LIVE or chat.counsellor_id != staff.id:
            return None
        await _close_offer(tx, chat, "withdrawn")
        audit(tx, RELEASE, staff_id=staff.id, session_id=chat.id, detail="handed back to the bot")
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
