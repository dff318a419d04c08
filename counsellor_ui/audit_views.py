"""The audit log page and its CSV download: admins only.

Query parameters, each optional: ``action`` (one of ``ACTION_LABELS``), ``staff``
(an account's id), ``session`` (a chat's reference, "1234", "#1234" or "Chat 1234"),
``from`` and ``to`` (YYYY-MM-DD, inclusive local dates in ``HAVEN_TIMEZONE``), and
``before`` or ``after`` (a line's id: the page of older or newer lines). Anything
unreadable answers 400 with the form and a plain reason, never a traceback.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from counsellor_ui import auth
from counsellor_ui.web import page
from gateway.actions import audit as actions
from gateway.actions.audit_log import AuditFilter, AuditLine, all_lines, audit_page, staff_choices
from gateway.actions.signin import SignedIn
from gateway.local_days import local_midnight
from gateway.types import StaffRole
from gateway.visible_text import reveal_invisible

# Every action of gateway/actions/audit.py, in words (tests/gateway/test_audit_log.py
# checks that none is missing), in the order the filter offers them.
ACTION_LABELS = {
    actions.VIEW_TRANSCRIPT: "Viewed a transcript",
    actions.WATCH: "Watched a chat",
    actions.WATCH_LIVE: "Watched a chat live",
    actions.WHISPER: "Wrote privately to a counsellor",
    actions.JOIN: "Joined a chat",
    actions.TAKE_OVER: "Took over a chat",
    actions.CLAIM: "Claimed a chat",
    actions.RELEASE: "Chat returned to the queue or the bot",
    actions.TRANSFER_OFFER: "Offered a transfer",
    actions.TRANSFER_ACCEPT: "Accepted a transfer",
    actions.TRANSFER_DECLINE: "Declined a transfer",
    actions.TRANSFER_CANCEL: "Cancelled a transfer offer",
    actions.TRANSFER_EXPIRE: "Transfer offer lapsed",
    actions.END: "Ended a chat (wrap-up)",
    actions.ERASE: "Erased a chat",
    actions.PURGE: "Retention purge",
    actions.REDACT: "Contact details masked",
    actions.EXPORT: "Exported",
    actions.SIGN_IN: "Signed in",
    actions.SIGN_IN_FAILED: "Failed sign-in",
    actions.SIGN_OUT: "Signed out",
    actions.PASSWORD_CHANGE: "Changed their password",
    actions.ACCOUNT_CREATE: "Created an account",
    actions.ACCOUNT_ROLE: "Changed a role",
    actions.ACCOUNT_RESET: "Reset a password",
    actions.ACCOUNT_DEACTIVATE: "Deactivated an account",
    actions.ACCOUNT_REACTIVATE: "Reactivated an account",
    actions.ACCOUNT_UNLOCK: "Unlocked an account",
    actions.FLOOD_CLEAR: "Cleared a flood of chats",
}
# Ids are PostgreSQL ``integer`` columns: anything larger names no row (and would
# not fit the column).
MAX_ID = 2**31 - 1
# Dates outside these years are typing mistakes, and far outside they overflow.
FIRST_YEAR, LAST_YEAR = 2000, 2999
# The CSV download holds at most this many lines: narrow the filter for more.
MAX_CSV_LINES = 10_000
_SESSION_REF = re.compile(r"(?:chat\s*|#)?([0-9]{1,10})", re.IGNORECASE)


class BadFilter(ValueError):
    """A filter the page cannot read; the message says which, in words."""


@dataclass(frozen=True)
class Choice:
    """The filters as typed (to show them again) and as the query needs them."""

    raw: dict[str, str]
    where: AuditFilter
    before: int | None
    after: int | None

    def query(self, **change: str) -> str:
        """The filters' query string, with ``change`` instead of the page keys."""
        kept = {k: v for k, v in self.raw.items() if v and k not in ("before", "after")}
        return urlencode({**kept, **change})


def _id(raw: str, what: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or int(raw) > MAX_ID:
        raise BadFilter(f"{what} must be a number.")
    return int(raw)


def _session(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    match = _SESSION_REF.fullmatch(raw)
    if match is None or not match.group(1).isascii() or int(match.group(1)) > MAX_ID:
        raise BadFilter("A chat reference is its number, for example 1234.")
    return int(match.group(1))


def _day(raw: str, what: str) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw) if raw.isascii() and len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None or not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise BadFilter(f"The {what} date must be a date written YYYY-MM-DD.")
    return day


_NAMES = ("action", "staff", "session", "from", "to", "before", "after")


def typed(params: Any) -> dict[str, str]:
    """The filters as typed, each cut to a length no real one reaches."""
    return {n: str(params.get(n, ""))[:64] for n in _NAMES}


def parse_choice(params: Any, zone: ZoneInfo) -> Choice:
    """The filters asked for, or ``BadFilter`` saying which one cannot be read."""
    raw = typed(params)
    action = raw["action"].strip() or None
    if action is not None and action not in ACTION_LABELS:
        raise BadFilter("That action is not one of the choices.")
    first, last = _day(raw["from"], "first"), _day(raw["to"], "last")
    if first is not None and last is not None and first > last:
        raise BadFilter("The first date comes after the last.")
    where = AuditFilter(
        action=action,
        staff_id=_id(raw["staff"], "The staff member"),
        session_id=_session(raw["session"]),
        start=local_midnight(first, zone) if first else None,
        end=local_midnight(date.fromordinal(last.toordinal() + 1), zone) if last else None,
    )
    return Choice(raw, where, _id(raw["before"], "The page"), _id(raw["after"], "The page"))


async def _admin(request: Request) -> SignedIn:
    who = await auth.require(request)
    if StaffRole(who.staff.role) != StaffRole.ADMIN:
        raise auth.PageError(403, "The audit log is for admins.")
    return who


def local_stamp(at: datetime, zone: ZoneInfo) -> str:
    """A line's time on the service's clock, 24-hour, to the second."""
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def who_did(line: AuditLine) -> str:
    if line.staff_id is None:
        return "The service"
    if line.staff_name is None:
        return f"Account {line.staff_id}"
    return f"{line.staff_name} ({line.staff_username})"


async def audit_page_view(request: Request) -> Response:
    """``/counsellor/audit``: the filtered log, newest first, 50 lines a page."""
    who = await _admin(request)
    svc = auth.runtime_of(request).svc
    zone = ZoneInfo(svc.settings.timezone)
    context: dict[str, Any] = {
        "who": who,
        "supervisor": True,
        "actions": ACTION_LABELS,
        "staff": await staff_choices(svc),
        "timezone": svc.settings.timezone,
        "stamp": lambda at: local_stamp(at, zone),
        "who_did": who_did,
    }
    try:
        choice = parse_choice(request.query_params, zone)
    except BadFilter as exc:
        raw = typed(request.query_params)
        return page(request, "audit.html", 400, raw=raw, error=str(exc), result=None, **context)
    result = await audit_page(svc, where=choice.where, before=choice.before, after=choice.after)
    return page(
        request, "audit.html", raw=choice.raw, error="", result=result, choice=choice, **context
    )


async def audit_csv(request: Request) -> Response:
    """The filtered log as CSV (at most ``MAX_CSV_LINES``); the download is itself audited."""
    who = await _admin(request)
    svc = auth.runtime_of(request).svc
    zone = ZoneInfo(svc.settings.timezone)
    try:
        choice = parse_choice(request.query_params, zone)
    except BadFilter as exc:
        raise auth.PageError(400, str(exc)) from exc
    lines = await all_lines(svc, where=choice.where, limit=MAX_CSV_LINES)
    await actions.record(
        svc, actions.EXPORT, staff_id=who.staff.id, detail=f"audit log {choice.query()}"
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", f"time ({svc.settings.timezone})", "staff", "action", "chat", "detail"])
    for line in lines:
        writer.writerow(
            [
                line.id,
                local_stamp(line.at, zone),
                _cell(who_did(line)),
                line.action,
                line.session_id or "",
                _cell(line.detail or ""),
            ]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="haven-audit-log.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _cell(text: str) -> str:
    """As the page shows it (hidden characters as markers), and never a formula: a
    spreadsheet would run a cell that starts with = + - @."""
    text = reveal_invisible(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
