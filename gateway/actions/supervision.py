"""Stepping in: a supervisor watches a live chat, whispers to its counsellor,
joins it, or takes it over.

Watching changes nothing but the audit log: every opening of a chat by
someone who does not hold it is recorded (who, which chat, when). A whisper
is a note of kind "whisper" for the counsellor alone: it is never a message,
has no ``seq``, and goes only to the counsellor's staff channel, so no widget
frame can carry it, live or on resume. Joining and taking over are told to the
person in plain words. Each action works under the session's row lock and
publishes its events after commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.actions.audit import JOIN, TAKE_OVER, WATCH, WATCH_LIVE, WHISPER, audit
from gateway.actions.handover import _close_offer as close_offer
from gateway.actions.messages import NotYourSession, seq_of_client_id
from gateway.actions.records import add_system_message, append_message, iso, lock_session, set_state
from gateway.events import QUEUE_CHANNEL, QueueChanged, Whisper, staff_channel
from gateway.models import AuditEvent, ChatSession, SessionNote, Staff
from gateway.services import Services, Transaction
from gateway.types import SenderKind, SessionState, StaffRole

# A whisper is a nudge during a chat, not a report: short enough to read at a glance.
MAX_WHISPER_CHARS = 1000


class SupervisionError(ValueError):
    """The step cannot be taken now; the message says why, in words for the page."""


def _check_supervisor(staff: Staff) -> None:
    if not StaffRole(staff.role).can_supervise:
        raise PermissionError("supervisors and admins only")


async def _live_not_mine(
    tx: Transaction, session_id: int, staff: Staff
) -> tuple[ChatSession, Staff]:
    """The live chat, locked, and the counsellor who holds it (not ``staff``)."""
    chat = await lock_session(tx, session_id)
    if chat.state != SessionState.LIVE or chat.counsellor_id is None:
        raise SupervisionError("This chat is no longer live.")
    if chat.counsellor_id == staff.id:
        raise SupervisionError("This chat is already yours.")
    holder = await tx.session.get(Staff, chat.counsellor_id)
    if holder is None:
        raise SupervisionError("This chat is no longer live.")
    return chat, holder


async def record_watch(svc: Services, *, session_id: int, staff: Staff, live: bool = False) -> None:
    """A supervisor opened the chat read-only: recorded, whatever its state.

    ``live``: the watch socket opened (the page's, or any other client's), so that
    reading a chat through the socket alone is recorded too ("watch_live").
    """
    _check_supervisor(staff)
    async with svc.transaction() as tx:
        audit(tx, WATCH_LIVE if live else WATCH, staff_id=staff.id, session_id=session_id)


async def whisper(svc: Services, *, session_id: int, staff: Staff, text: str) -> str:
    """A private word to the chat's counsellor; returns the counsellor's name."""
    _check_supervisor(staff)
    text = text.strip()
    if not text:
        raise SupervisionError("The message to the counsellor is empty.")
    if len(text) > MAX_WHISPER_CHARS:
        raise SupervisionError(
            f"A private message can be at most {MAX_WHISPER_CHARS:,} characters."
        )
    async with svc.transaction() as tx:
        chat, holder = await _live_not_mine(tx, session_id, staff)
        tx.session.add(
            SessionNote(
                session_id=chat.id, staff_id=staff.id, kind="whisper", text=text, created_at=tx.now
            )
        )
        audit(tx, WHISPER, staff_id=staff.id, session_id=chat.id)
        tx.publish_after_commit(
            staff_channel(holder.id),
            Whisper(
                session_id=chat.id,
                to_staff_id=holder.id,
                from_name=staff.display_name,
                text=text,
                at=iso(tx.now),
            ),
        )
    return holder.display_name


async def join_chat(svc: Services, *, session_id: int, staff: Staff) -> None:
    """The supervisor joins beside the counsellor; the person is told."""
    _check_supervisor(staff)
    async with svc.transaction() as tx:
        chat, _ = await _live_not_mine(tx, session_id, staff)
        if await _joined(tx.session, chat, staff):
            return
        audit(tx, JOIN, staff_id=staff.id, session_id=chat.id)
        await add_system_message(
            tx, chat, f"{staff.display_name}, a supervisor, has joined the chat to help."
        )


async def _joined(session: AsyncSession, chat: ChatSession, staff: Staff) -> bool:
    """Whether ``staff`` joined this chat since it was last claimed."""
    query = select(AuditEvent.id).where(
        AuditEvent.session_id == chat.id,
        AuditEvent.staff_id == staff.id,
        AuditEvent.action == JOIN,
    )
    if chat.claimed_at is not None:
        query = query.where(AuditEvent.at >= chat.claimed_at)
    return (await session.execute(query.limit(1))).first() is not None


async def has_joined(svc: Services, *, session_id: int, staff: Staff) -> bool:
    """Whether the supervisor is in this live chat beside its counsellor."""
    async with svc.read() as session:
        chat = await session.get(ChatSession, session_id)
        if chat is None or chat.state != SessionState.LIVE or chat.counsellor_id == staff.id:
            return False
        return await _joined(session, chat, staff)


async def post_as_supervisor(
    svc: Services, *, session_id: int, staff: Staff, client_id: str, text: str
) -> int:
    """A joined supervisor's message to the person (once per client_id); returns its seq."""
    _check_supervisor(staff)
    async with svc.transaction() as tx:
        existing = await seq_of_client_id(tx.session, session_id, client_id)
        if existing is not None:
            return existing
        chat = await lock_session(tx, session_id)
        if chat.state != SessionState.LIVE or not await _joined(tx.session, chat, staff):
            raise NotYourSession(session_id)
        message = await append_message(
            tx, chat, sender=SenderKind.COUNSELLOR, text=text, client_id=client_id, counsellor=staff
        )
    return message.seq


@dataclass(frozen=True)
class TakeOver:
    from_name: str


async def take_over(svc: Services, *, session_id: int, staff: Staff) -> TakeOver:
    """The chat becomes the supervisor's; the counsellor and the person are told."""
    _check_supervisor(staff)
    async with svc.transaction() as tx:
        chat, holder = await _live_not_mine(tx, session_id, staff)
        if chat.transfer_to_id is not None:
            await close_offer(tx, chat, "withdrawn")
        audit(
            tx,
            TAKE_OVER,
            staff_id=staff.id,
            session_id=chat.id,
            detail=f"from {holder.display_name}",
        )
        await add_system_message(
            tx,
            chat,
            f"{staff.display_name}, a supervisor, is taking over from {holder.display_name}.",
        )
        await set_state(tx, chat, SessionState.LIVE, counsellor=staff, counsellor_id=staff.id)
        tx.publish_after_commit(
            QUEUE_CHANNEL, QueueChanged(session_id=chat.id, reason="taken_over")
        )
    return TakeOver(from_name=holder.display_name)
