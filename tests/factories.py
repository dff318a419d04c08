"""Factories: the few rows and states tests need, built through the real actions."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from gateway.actions.queue import escalate
from gateway.actions.records import lock_session
from gateway.actions.sessions import SessionView, start_session
from gateway.actions.staff import create_staff, set_presence
from gateway.models import ChatSession, QueueWait, Staff
from gateway.services import Services
from gateway.types import Priority, StaffRole

_counter = itertools.count(1)
PASSWORD = "correct horse battery"


async def make_staff(
    svc: Services,
    *,
    name: str | None = None,
    role: StaffRole = StaffRole.COUNSELLOR,
    available: bool = True,
) -> Staff:
    n = next(_counter)
    staff = await create_staff(
        svc,
        username=f"{(name or 'counsellor').lower()}{n}",
        display_name=name or f"Counsellor {n}",
        password=PASSWORD,
        role=role,
    )
    if available:
        await set_presence(svc, staff_id=staff.id, available=True)
    return staff


async def make_session(svc: Services, *, locale: str = "en") -> SessionView:
    session, _token = await start_session(svc, locale=locale)
    return session


async def make_queued_session(
    svc: Services, *, priority: Priority = Priority.REQUESTED, reason: str = "request:button"
) -> SessionView:
    """A session waiting in the queue, as if the person had asked for a person."""
    session = await make_session(svc)
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session.id)
        await escalate(tx, chat, priority=priority, reason=reason)
    return session


async def add_history_wait(
    svc: Services,
    entered: datetime,
    seconds: float | None,
    *,
    outcome: str = "claimed",
    priority: int = 2,
    risk: str = "none",
) -> int:
    """A closed session and its one wait, written directly as history would be (the
    wait still open when ``seconds`` is None). Returns the session's id."""
    async with svc.transaction() as tx:
        chat = ChatSession(
            state="closed",
            priority=priority,
            risk_level=risk,
            created_at=entered - timedelta(minutes=2),
            queued_at=entered,
            user_seen_at=entered,
        )
        tx.session.add(chat)
        await tx.session.flush()
        tx.session.add(
            QueueWait(
                session_id=chat.id,
                entered_at=entered,
                cause="escalated",
                priority=priority,
                risk_level=risk,
                ended_at=None if seconds is None else entered + timedelta(seconds=seconds),
                outcome=None if seconds is None else outcome,
            )
        )
    return chat.id
