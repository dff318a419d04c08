"""Ending a chat, which needs a wrap-up: one or more outcomes, the risk assessed, and notes.

A counsellor ends a live chat by submitting the wrap-up; the chat closes in
the same transaction, so there is never a closed chat of theirs without a
record unless the person left first. Those (the person left or erased the
chat) are listed as "wrap-up needed" until the counsellor records one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select

from gateway.actions.audit import END, audit
from gateway.actions.records import add_ending_notice, lock_session, set_state
from gateway.actions.sessions import was_erased, wrapup_after_erase, wrapup_notes_after_erase
from gateway.events import QUEUE_CHANNEL, QueueChanged
from gateway.models import ChatSession, WrapUp, WrapUpOutcome
from gateway.redaction import redact
from gateway.services import Services
from gateway.types import SessionState

# (value stored, words shown). Ordered from none to the most urgent.
RISK_LEVELS: tuple[tuple[str, str], ...] = (
    ("none", "No risk identified"),
    ("low", "Low"),
    ("medium", "Medium"),
    ("high", "High"),
    ("immediate", "Immediate danger to life"),
)
RISK_LABELS = dict(RISK_LEVELS)
# Wrap-up notes are a summary, not a second transcript.
MAX_NOTES_CHARS = 4000
# Chats closed longer ago than this no longer nag on the dashboard (they stay in reports).
WRAPUP_DUE_WINDOW = timedelta(days=2)

# Said when the bot script has no ``ended_by_counsellor`` notice (with the helplines).
ENDED = (
    "The counsellor has ended the chat. Thank you for talking with us. "
    "If you need someone again, you can start a new chat at any time."
)


class WrapUpError(ValueError):
    """The wrap-up form is incomplete; the message says what to fix."""


@dataclass(frozen=True)
class WrapUpForm:
    outcomes: tuple[str, ...]
    risk_level: str
    notes: str


def check_wrapup(
    svc: Services, *, outcomes: Iterable[str], risk_level: str, notes: str
) -> WrapUpForm:
    """The form as the service accepts it, or ``WrapUpError`` naming what is missing.

    Outcomes are kept in the order the settings list them, each once.
    """
    chosen = set(outcomes)
    if not chosen:
        raise WrapUpError("Choose at least one outcome.")
    if not chosen <= set(svc.settings.wrapup_outcomes):
        raise WrapUpError("Choose outcomes from the list.")
    if risk_level not in RISK_LABELS:
        raise WrapUpError("Choose the level of risk you assessed.")
    notes = notes.strip()
    if len(notes) > MAX_NOTES_CHARS:
        raise WrapUpError(f"Notes can be at most {MAX_NOTES_CHARS:,} characters.")
    ordered = tuple(o for o in svc.settings.wrapup_outcomes if o in chosen)
    return WrapUpForm(ordered, risk_level, notes)


@dataclass(frozen=True)
class EndResult:
    done: bool
    # "ended" (closed now), "recorded" (was already closed), "not_yours", "already",
    # "erased" (the person deleted the chat and the service records nothing of it)
    outcome: str


async def end_session(
    svc: Services, *, session_id: int, staff_id: int, wrap_up: WrapUpForm
) -> EndResult:
    """Store the wrap-up and, if the chat is still live, close it and tell the person."""
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        if chat.counsellor_id != staff_id or chat.state not in (
            SessionState.LIVE,
            SessionState.CLOSED,
        ):
            return EndResult(False, "not_yours")
        if await tx.session.get(WrapUp, session_id) is not None:
            return EndResult(False, "already")
        if was_erased(chat):  # HAVEN_ERASE_STAFF_RECORDS applies to a wrap-up written after
            if not wrapup_after_erase(svc.settings.erase_staff_records):
                return EndResult(False, "erased")
            if not wrapup_notes_after_erase(svc.settings.erase_staff_records):
                wrap_up = replace(wrap_up, notes="")
        if chat.purged_at is not None:  # past its retention: no words are kept
            wrap_up = replace(wrap_up, notes="")
        tx.session.add(
            WrapUp(
                session_id=chat.id,
                staff_id=staff_id,
                outcomes=[WrapUpOutcome(outcome=o) for o in wrap_up.outcomes],
                risk_level=wrap_up.risk_level,
                # The chat is closed, or closes now: kept masked (HAVEN_REDACT).
                notes=redact(wrap_up.notes) if svc.settings.redact else wrap_up.notes,
                created_at=tx.now,
            )
        )
        audit(
            tx,
            END,
            staff_id=staff_id,
            session_id=chat.id,
            detail=_end_detail(wrap_up, closed=chat.state == SessionState.CLOSED),
        )
        if chat.state == SessionState.CLOSED:
            return EndResult(True, "recorded")
        await add_ending_notice(svc, tx, chat, "ended_by_counsellor", ENDED)
        await set_state(tx, chat, SessionState.CLOSED, closed_at=tx.now)
        tx.publish_after_commit(QUEUE_CHANNEL, QueueChanged(session_id=chat.id, reason="ended"))
    return EndResult(True, "ended")


def _end_detail(wrap_up: WrapUpForm, *, closed: bool) -> str:
    """The audit line's detail: the outcomes and the risk chosen, never the notes."""
    when = "wrap-up after the person left" if closed else "ended"
    return f"{when}; risk {wrap_up.risk_level}; " + ", ".join(wrap_up.outcomes)


async def wrapup_of(svc: Services, *, session_id: int) -> WrapUp | None:
    async with svc.read() as session:
        return await session.get(WrapUp, session_id)


@dataclass(frozen=True)
class WrapUpDue:
    session_id: int
    closed_at: datetime | None


def _erased_chats_need_no_wrapup(svc: Services) -> list[ColumnElement[bool]]:
    """Under ``HAVEN_ERASE_STAFF_RECORDS=all`` nothing of a deleted chat is recorded."""
    if wrapup_after_erase(svc.settings.erase_staff_records):
        return []
    return [ChatSession.token_hash.is_not(None)]


async def wrapups_due(svc: Services, *, staff_id: int) -> list[WrapUpDue]:
    """Chats of this counsellor that closed without a wrap-up (the person left first)."""
    since = svc.clock() - WRAPUP_DUE_WINDOW
    async with svc.read() as session:
        rows = await session.execute(
            select(ChatSession.id, ChatSession.closed_at)
            .outerjoin(WrapUp, WrapUp.session_id == ChatSession.id)
            .where(
                ChatSession.counsellor_id == staff_id,
                ChatSession.state == SessionState.CLOSED.value,
                ChatSession.closed_at >= since,
                WrapUp.session_id.is_(None),
                *_erased_chats_need_no_wrapup(svc),
            )
            .order_by(ChatSession.closed_at)
        )
        return [WrapUpDue(session_id, closed_at) for session_id, closed_at in rows.all()]
