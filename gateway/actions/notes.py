"""Private notes on a conversation: for the counsellors who hold it, never for the person.

Notes are not messages: they have no ``seq``, are never published on the
session's channel, and no widget frame can carry them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from gateway.actions.records import lock_session
from gateway.actions.sessions import was_erased, wrapup_notes_after_erase
from gateway.models import SessionNote, Staff
from gateway.redaction import redact
from gateway.services import Services
from gateway.types import SessionState

# A note is a reminder or an observation; longer thoughts go in the wrap-up.
MAX_NOTE_CHARS = 2000
ERASED = (
    "The person deleted this conversation, so no notes are kept on it. "
    "Record the outcome and the risk you assessed in the wrap-up."
)
PURGED = "This conversation's text was removed under the retention policy; notes are not kept."


class NoteError(ValueError):
    """The note cannot be kept; the message says why."""


async def add_note(svc: Services, *, session_id: int, staff: Staff, text: str) -> SessionNote:
    """Keep a private note on a chat the counsellor holds (live, or closed and theirs)."""
    text = text.strip()
    if not text:
        raise NoteError("The note is empty.")
    if len(text) > MAX_NOTE_CHARS:
        raise NoteError(f"A note can be at most {MAX_NOTE_CHARS:,} characters.")
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        if chat.counsellor_id != staff.id:
            raise PermissionError(session_id)
        if chat.purged_at is not None:
            raise NoteError(PURGED)
        if was_erased(chat) and not wrapup_notes_after_erase(svc.settings.erase_staff_records):
            raise NoteError(ERASED)  # docs/safeguarding.md: the erase covers later notes
        if SessionState(chat.state).finished and svc.settings.redact:
            text = redact(text)  # a closed chat keeps no contact details (HAVEN_REDACT)
        note = SessionNote(
            session_id=chat.id, staff_id=staff.id, kind="note", text=text, created_at=tx.now
        )
        tx.session.add(note)
        await tx.session.flush()
    return note


@dataclass(frozen=True)
class NoteLine:
    kind: str  # "note" or "handover"
    author: str | None
    text: str
    at: datetime


async def notes_for(svc: Services, *, session_id: int) -> list[NoteLine]:
    """The notes on a chat, oldest first. Callers check the reader holds the chat."""
    async with svc.read() as session:
        rows = await session.execute(
            select(SessionNote, Staff.display_name)
            .outerjoin(Staff, Staff.id == SessionNote.staff_id)
            .where(SessionNote.session_id == session_id)
            .order_by(SessionNote.created_at, SessionNote.id)
        )
        return [NoteLine(n.kind, name, n.text, n.created_at) for n, name in rows.all()]
