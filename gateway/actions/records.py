"""Row helpers shared by the actions: lock a session, append a message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from gateway.appender import Append, Appended, BatchAppender
from gateway.events import MessageAdded, SessionStateChanged, session_channel
from gateway.models import ChatSession, Message, Staff
from gateway.services import Services, Transaction
from gateway.types import SenderKind, SessionState


class SessionNotFound(LookupError):
    pass


async def lock_session(tx: Transaction, session_id: int) -> ChatSession:
    """Load a session row for update (a row lock on PostgreSQL; SQLite's write lock is held)."""
    result = await tx.session.execute(
        select(ChatSession).where(ChatSession.id == session_id).with_for_update()
    )
    chat = result.scalar_one_or_none()
    if chat is None:
        raise SessionNotFound(session_id)
    return chat


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def message_added(
    *,
    session_id: int,
    seq: int,
    sender: SenderKind,
    text: str,
    at: datetime,
    client_id: str | None,
    counsellor: Staff | None = None,
    quick_replies: list[dict[str, str]] | None = None,
) -> MessageAdded:
    """The event of a message stored on the hot path: all a client needs to show it."""
    return MessageAdded(
        session_id=session_id,
        seq=seq,
        sender=sender.value,
        text=text,
        at=iso(at),
        client_id=client_id,
        quick_replies=_pairs(quick_replies),
        counsellor_id=counsellor.id if counsellor else None,
        counsellor_name=counsellor.display_name if counsellor else None,
    )


def _pairs(quick_replies: list[dict[str, str]] | None) -> tuple[tuple[str, str], ...] | None:
    if not quick_replies:
        return None
    return tuple((r["label"], r["value"]) for r in quick_replies)


def message_event(message: Message, counsellor_name: str | None = None) -> MessageAdded:
    return MessageAdded(
        session_id=message.session_id,
        seq=message.seq,
        sender=message.sender,
        text=message.text,
        at=iso(message.created_at),
        client_id=message.client_id,
        quick_replies=_pairs(message.quick_replies),
        counsellor_id=message.counsellor_id,
        counsellor_name=counsellor_name,
    )


async def append_message(
    tx: Transaction,
    chat: ChatSession,
    *,
    sender: SenderKind,
    text: str,
    client_id: str | None = None,
    counsellor: Staff | None = None,
    quick_replies: list[dict[str, str]] | None = None,
    publish: bool = True,
) -> Message:
    """Give the next seq of a locked session to a new message and store it."""
    seq = (
        await tx.session.execute(
            update(ChatSession)
            .where(ChatSession.id == chat.id)
            .values(last_seq=ChatSession.last_seq + 1)
            .returning(ChatSession.last_seq)
        )
    ).scalar_one()
    set_committed_value(chat, "last_seq", seq)
    values = {
        "session_id": chat.id,
        "seq": seq,
        "sender": sender.value,
        "counsellor_id": counsellor.id if counsellor else None,
        "text": text,
        "client_id": client_id,
        "quick_replies": quick_replies,
        "created_at": tx.now,
    }
    # Core, not the unit of work's flush: one INSERT, nothing to track afterwards.
    await tx.session.execute(insert(Message).values(**values))
    message = Message(**values)  # what was stored, for the caller and the event
    if publish:
        name = counsellor.display_name if counsellor else None
        tx.publish_after_commit(session_channel(chat.id), message_event(message, name))
    return message


async def append_if_state(
    tx: Transaction,
    *,
    session_id: int,
    states: tuple[SessionState, ...],
    sender: SenderKind,
    text: str,
    client_id: str | None,
    counsellor: Staff | None = None,
    person_seen: bool = False,
) -> tuple[int, SessionState, str] | None:
    """The hot path of a live chat, in two statements: take the next seq if the
    session is in one of ``states`` (and, for a counsellor, theirs) and store the
    message. Returns (seq, state, locale), or None when the condition did not hold
    (nothing was written).

    The conditional ``UPDATE ... RETURNING`` is the row lock (PostgreSQL) and the
    check in one; no ORM object is loaded.
    """
    values: dict[str, Any] = {"last_seq": ChatSession.last_seq + 1}
    if person_seen:
        values["user_seen_at"] = tx.now
    conditions = [ChatSession.id == session_id, ChatSession.state.in_([s.value for s in states])]
    if counsellor is not None:
        conditions.append(ChatSession.counsellor_id == counsellor.id)
    row = (
        await tx.session.execute(
            update(ChatSession)
            .where(*conditions)
            .values(**values)
            .returning(ChatSession.last_seq, ChatSession.state, ChatSession.locale)
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if row is None:
        return None
    seq, state, locale = row
    await tx.session.execute(
        insert(Message).values(
            session_id=session_id,
            seq=seq,
            sender=sender.value,
            counsellor_id=counsellor.id if counsellor else None,
            text=text,
            client_id=client_id,
            quick_replies=None,
            created_at=tx.now,
        )
    )
    tx.publish_after_commit(
        session_channel(session_id),
        message_added(
            session_id=session_id,
            seq=seq,
            sender=sender,
            text=text,
            at=tx.now,
            client_id=client_id,
            counsellor=counsellor,
        ),
    )
    return seq, SessionState(state), locale


async def append_live_fast(
    svc: Services,
    appender: BatchAppender,
    *,
    session_id: int,
    sender: SenderKind,
    text: str,
    client_id: str,
    counsellor: Staff | None = None,
) -> Appended:
    """A message into a live chat on the SQLite hot path (``gateway/appender.py``),
    and its event once its batch has committed. A person's message marks them seen."""
    now = svc.clock()
    done = await appender.append(
        Append(
            session_id=session_id,
            states=(SessionState.LIVE.value,),
            sender=sender.value,
            text=text,
            client_id=client_id,
            counsellor_id=counsellor.id if counsellor else None,
            person_seen=sender == SenderKind.USER,
        ),
        now,
    )
    if done.stored:
        event = message_added(
            session_id=session_id,
            seq=done.seq,
            sender=sender,
            text=text,
            at=now,
            client_id=client_id,
            counsellor=counsellor,
        )
        await svc.publish(session_channel(session_id), event)
    return done


async def set_state(
    tx: Transaction,
    chat: ChatSession,
    state: SessionState,
    *,
    counsellor: Staff | None = None,
    **columns: Any,
) -> None:
    """Change a session's state and say so after commit."""
    chat.state = state.value
    for name, value in columns.items():
        setattr(chat, name, value)
    tx.publish_after_commit(
        session_channel(chat.id),
        SessionStateChanged(
            session_id=chat.id,
            state=state.value,
            counsellor_id=counsellor.id if counsellor else None,
            counsellor_name=counsellor.display_name if counsellor else None,
        ),
    )


async def add_system_message(tx: Transaction, chat: ChatSession, text: str) -> Message:
    """A line from the service itself ("Sam has joined the chat")."""
    return await append_message(tx, chat, sender=SenderKind.SYSTEM, text=text)


async def add_ending_notice(
    svc: Services, tx: Transaction, chat: ChatSession, name: str, default: str
) -> Message:
    """What the person is told when their chat ends this way, in their language and
    with the helplines: the bot script's ``name`` notice (``ended_by_counsellor``,
    ``person_left``, ``timed_out``), or ``default`` and the resource directory when
    the script has none."""
    text = svc.bot.notice(name, chat.locale)
    if not text:
        text = "\n\n".join((default, "\n".join(svc.bot.helplines(chat.locale))))
    return await add_system_message(tx, chat, text)
