"""The audit log: who did what to which session reference, and when.

Append-only (migration 0007 puts a trigger on ``audit_events`` that refuses UPDATE
and DELETE on both databases). A line is written in the same transaction as the
change it records, so a change that rolls back leaves no line, and a line never
exists without its change. ``detail`` is a short description made by the code (an
outcome, a colleague's name, a period, a count): never anything a person or a
counsellor wrote, and never a password.
"""

from __future__ import annotations

from gateway.models import AuditEvent
from gateway.services import Transaction

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
