"""The audit log: who did what to which session reference, and when.

Append-only (migration 0007 puts a trigger on ``audit_events`` that refuses UPDATE
and DELETE on both databases). A line is written in the same transaction as the
change it records, so a change that rolls back leaves no line, and a line never
exists without its change. ``detail`` is a short description made by the code (an
outcome, a colleague's name, a period, a count): never anything a person or a
counsellor wrote, and never a password.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from gateway.models import AuditEvent, ChatSession
from gateway.services import Services, Transaction
from gateway.types import SessionState

# The vocabulary of ``audit_events.action``. Supervision (watch, whisper, join,
# take_over) and exports were the first; docs/security.md lists every one.
VIEW_TRANSCRIPT = "view_transcript"  # a staff member opened a chat's transcript page
WATCH = "watch"  # a supervisor opened a live chat they do not hold
WATCH_LIVE = "watch_live"  # ... and followed it live over the socket
WHISPER = "whisper"
JOIN = "join"
TAKE_OVER = "take_over"
EXPORT = "export"  # statistics CSV (aggregates only)
CLAIM = "claim"
RELEASE = "release"
TRANSFER_OFFER = "transfer_offer"
TRANSFER_ACCEPT = "transfer_accept"
TRANSFER_DECLINE = "transfer_decline"
TRANSFER_CANCEL = "transfer_cancel"
TRANSFER_EXPIRE = "transfer_expire"  # the service withdrew an unanswered or lapsed offer
END = "end"  # a counsellor ended the chat (wrap-up written)
ERASE = "erase"  # the person erased it from the widget, or an admin by reference
PURGE = "purge"  # the retention purge removed transcripts' text (detail: how many)
REDACT = "redact"  # contact details masked after close (detail: how many sessions)
SIGN_IN = "sign_in"
SIGN_IN_FAILED = "sign_in_failed"  # detail: the username tried (never the password)
SIGN_OUT = "sign_out"
PASSWORD_CHANGE = "password_change"  # noqa: S105 - an action name, not a secret
ACCOUNT_CREATE = "account_create"
ACCOUNT_ROLE = "account_role"
ACCOUNT_RESET = "account_reset"
ACCOUNT_DEACTIVATE = "account_deactivate"
ACCOUNT_REACTIVATE = "account_reactivate"
ACCOUNT_UNLOCK = "account_unlock"
FLOOD_CLEAR = "flood_clear"  # a supervisor closed a flood of sessions (detail: how many)

MAX_DETAIL = 200


def audit(
    tx: Transaction,
    action: str,
    *,
    staff_id: int | None = None,
    session_id: int | None = None,
    detail: str | None = None,
) -> None:
    """Append one line to the audit log, in ``tx`` (never any message text)."""
    tx.session.add(
        AuditEvent(
            at=tx.now,
            staff_id=staff_id,
            action=action,
            session_id=session_id,
            detail=None if detail is None else detail[:MAX_DETAIL],
        )
    )


async def record(
    svc: Services,
    action: str,
    *,
    staff_id: int | None = None,
    session_id: int | None = None,
    detail: str | None = None,
) -> None:
    """One line in a transaction of its own: for a step that changes nothing else
    (a view, an export)."""
    async with svc.transaction() as tx:
        audit(tx, action, staff_id=staff_id, session_id=session_id, detail=detail)


# The lines by which a member of staff comes to hold a chat.
_CAME_TO_HOLD = (CLAIM, TRANSFER_ACCEPT, TAKE_OVER)


async def _seen_since_holding(svc: Services, *, staff_id: int, session_ids: list[int]) -> set[int]:
    """Of these chats, those ``staff_id`` already viewed since they last came to hold them."""
    if not session_ids:
        return set()
    async with svc.read() as session:
        rows = await session.execute(
            select(AuditEvent.session_id, AuditEvent.action)
            .where(
                AuditEvent.session_id.in_(session_ids),
                AuditEvent.staff_id == staff_id,
                AuditEvent.action.in_((*_CAME_TO_HOLD, VIEW_TRANSCRIPT)),
            )
            .order_by(AuditEvent.id.desc())
        )
        latest: dict[int, str] = {}
        for session_id, action in rows.all():
            if session_id is not None:
                latest.setdefault(session_id, action)
    return {sid for sid, action in latest.items() if action == VIEW_TRANSCRIPT}


async def record_views(svc: Services, *, staff_id: int, chats: Sequence[ChatSession]) -> list[int]:
    """A member of staff was shown these chats' transcripts; returns the ids recorded.

    A live chat they hold is recorded once per holding: the first view after they
    claimed it, accepted it or took it over (the workspace reloads after every
    note, offer and notice, and a line per reload would bury the lines that
    matter). Every other view (a chat that has ended, or one they do not hold)
    is recorded each time. The check reads first, so a page that records nothing
    takes no write lock.
    """
    held = [c.id for c in chats if c.state == SessionState.LIVE and c.counsellor_id == staff_id]
    skip = await _seen_since_holding(svc, staff_id=staff_id, session_ids=held)
    record = [c.id for c in chats if c.id not in skip]
    if record:
        async with svc.transaction() as tx:
            for session_id in record:
                audit(tx, VIEW_TRANSCRIPT, staff_id=staff_id, session_id=session_id)
    return record
