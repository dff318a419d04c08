"""The redaction sweep: contact details masked in what is kept of a closed chat.

With ``HAVEN_REDACT`` on (the default), once a session has closed (or been
abandoned) its stored text is rewritten through ``gateway.redaction.redact``:

* the person's and counsellors' messages (the bot's and the service's own lines
  are left as they are: they are the script's words, and the helpline numbers
  the bot gave must stay readable);
* private and handover notes, whispers, and the wrap-up's notes;
* ``escalation_match``, the person's own words quoted when the alarm was raised.

Then ``chat_sessions.redacted_at`` is set. While a chat is live, counsellors see
the original. Between the close and the sweep, every staff page masks closed
chats as it shows them (``masked_lines`` and ``masked_notes``), and what is written
about a closed chat later (a note, a wrap-up) is masked as it is stored, so no
view and no later write ever holds the original past the close.

Safe with several processes: a batch claims its sessions with one conditional
``UPDATE ... WHERE redacted_at IS NULL``. Only sessions closed within the
retention period are looked at (older ones are purged instead), which keeps the
sweep's query on the ``closed_at`` index.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select, update

from gateway.actions.audit import REDACT, audit
from gateway.actions.messages import TranscriptLine
from gateway.actions.notes import NoteLine
from gateway.actions.retention import retention_cutoff
from gateway.models import ChatSession, Message, SessionNote, WrapUp
from gateway.redaction import redact
from gateway.scrub import forget_deleted_text
from gateway.services import Services
from gateway.types import SenderKind, SessionState

# Sessions per transaction (each with its messages): short transactions.
REDACT_BATCH = 50
# The timer loop sweeps this often (seconds). Pages mask closed chats meanwhile,
# so this bounds only how long the original stays stored; an audit line per sweep
# that masked anything, at most one every five minutes.
REDACT_EVERY_S = 300.0
# Whose words are masked: the bot's and the service's lines are the script's own.
MASKED_SENDERS = (SenderKind.USER, SenderKind.COUNSELLOR)
_FINISHED = (SessionState.CLOSED.value, SessionState.ABANDONED.value)


def masked_lines(lines: list[TranscriptLine]) -> list[TranscriptLine]:
    """A closed chat's transcript as every later view shows it."""
    return [
        replace(line, text=redact(line.text)) if line.sender in MASKED_SENDERS else line
        for line in lines
    ]


def masked_notes(notes: list[NoteLine]) -> list[NoteLine]:
    return [replace(note, text=redact(note.text)) for note in notes]


async def _sweep_batch(svc: Services) -> tuple[int, int]:
    since = retention_cutoff(svc, svc.clock())
    due = (
        ChatSession.closed_at >= since,
        ChatSession.state.in_(_FINISHED),
        ChatSession.redacted_at.is_(None),
        ChatSession.purged_at.is_(None),
    )
    async with svc.read() as session:
        candidates = list(
            (
                await session.execute(
                    select(ChatSession.id).where(*due).order_by(ChatSession.id).limit(REDACT_BATCH)
                )
            ).scalars()
        )
    if not candidates:
        return 0, 0
    masked = 0
    async with svc.transaction() as tx:
        claimed = list(
            (
                await tx.session.execute(
                    update(ChatSession)
                    .where(ChatSession.id.in_(candidates), *due)
                    .values(redacted_at=tx.now)
                    .returning(ChatSession.id)
                    .execution_options(synchronize_session=False)
                )
            ).scalars()
        )
        if not claimed:
            return 0, 0
        senders = [s.value for s in MASKED_SENDERS]
        texts = [
            (Message, Message.id, Message.text, Message.session_id.in_(claimed)),
            (SessionNote, SessionNote.id, SessionNote.text, SessionNote.session_id.in_(claimed)),
            (WrapUp, WrapUp.session_id, WrapUp.notes, WrapUp.session_id.in_(claimed)),
            (
                ChatSession,
                ChatSession.id,
                ChatSession.escalation_match,
                ChatSession.id.in_(claimed),
            ),
        ]
        for model, key, column, where in texts:
            query = select(key, column).where(where, column.is_not(None))
            if model is Message:
                query = query.where(Message.sender.in_(senders))
            for row_key, text in (await tx.session.execute(query)).all():
                new = redact(text or "")
                if text and new != text:
                    masked += 1
                    await tx.session.execute(
                        update(model)
                        .where(key == row_key)
                        .values({column.key: new})
                        .execution_options(synchronize_session=False)
                    )
        detail = f"{len(claimed)} closed conversations swept, {masked} texts masked"
        audit(tx, REDACT, detail=detail)
    return len(claimed), masked


async def redact_closed(svc: Services, *, max_batches: int | None = None) -> int:
    """Mask contact details in every closed chat not yet swept (at most ``max_batches``
    batches of them); how many were swept."""
    if not svc.settings.redact:
        return 0
    swept = masked = batches = 0
    while max_batches is None or batches < max_batches:
        batch, texts = await _sweep_batch(svc)
        if not batch:
            break
        swept, masked, batches = swept + batch, masked + texts, batches + 1
    if masked:  # the originals leave the SQLite log too (gateway/scrub.py)
        await forget_deleted_text(svc.db)
    return swept


def as_shown(
    svc: Services, chat: ChatSession, lines: list[TranscriptLine], notes: list[NoteLine]
) -> tuple[list[TranscriptLine], list[NoteLine]]:
    """A chat's transcript and notes as a staff page shows them: the original while
    the chat is open, masked once it has closed (even before the sweep reaches it)."""
    if svc.settings.redact and SessionState(chat.state).finished:
        return masked_lines(lines), masked_notes(notes)
    return lines, notes
