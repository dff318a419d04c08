"""Factories: the few rows and states tests need, built through the real actions."""

from __future__ import annotations

import itertools

from gateway.actions.queue import escalate
from gateway.actions.records import lock_session
from gateway.actions.sessions import SessionView, start_session
from gateway.actions.staff import create_staff, set_presence
from gateway.models import Staff
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
