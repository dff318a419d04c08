"""Staff accounts: creating them, signing them out everywhere, presence, and who is online.

What only admins do to accounts (roles, resets, deactivation, unlocks) is in
gateway/actions/accounts.py.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from gateway.actions.audit import ACCOUNT_CREATE, audit
from gateway.actions.queue import RELEASED, return_all_to_queue
from gateway.events import QUEUE_CHANNEL, QueueChanged, StaffSignedOut, staff_channel
from gateway.models import ChatSession, Staff, StaffSession
from gateway.services import Services, Transaction
from gateway.types import SessionState, StaffRole

# Argon2id with the library's defaults (RFC 9106 low-memory profile). Hashes made
# with other parameters are replaced at the next successful sign-in.
hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 10
# Argon2 takes any length; a bound keeps a pasted book out of the hashing.
MAX_PASSWORD_LENGTH = 1024


class StaffError(ValueError):
    """A request about an account that cannot be done; the message says why, plainly."""


def hash_password(password: str) -> str:
    return hasher.hash(password)


def is_admin(staff: Staff) -> bool:
    """Only admins manage accounts (create, role, reset, deactivate, unlock)."""
    return StaffRole(staff.role) == StaffRole.ADMIN


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"A password must be at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise StaffError(f"A password must be at most {MAX_PASSWORD_LENGTH} characters.")


async def create_staff(
    svc: Services,
    *,
    username: str,
    display_name: str,
    password: str,
    role: StaffRole,
    actor: Staff | None = None,
    must_change_password: bool = False,
) -> Staff:
    """A new account. ``actor`` is the signed-in admin (None from the command line)."""
    if actor is not None and not is_admin(actor):
        raise StaffError("Only admins create accounts.")
    username = username.strip().lower()
    if (
        not username
        or len(username) > 64
        or any(c.isspace() or unicodedata.category(c) == "Cc" for c in username)
    ):
        raise StaffError("A username must be 1 to 64 characters with no spaces.")
    display_name = display_name.strip()
    if len(display_name) > 80 or any(unicodedata.category(c) == "Cc" for c in display_name):
        raise StaffError("A display name must be at most 80 characters, on one line.")
    check_new_password(password)
    async with svc.read() as session:
        taken = (
            await session.execute(select(func.count()).where(Staff.username == username))
        ).scalar_one()
    if taken:
        raise StaffError(f"The username {username!r} is taken.")
    password_hash = await svc.passwords.run(hash_password, password)
    async with svc.transaction() as tx:
        staff = Staff(
            username=username,
            display_name=display_name or username,
            password_hash=password_hash,
            role=role.value,
            active=True,
            available=False,
            created_at=tx.now,
            must_change_password=must_change_password,
        )
        tx.session.add(staff)
        try:
            await tx.session.flush()
        except IntegrityError as exc:  # created by someone else meanwhile
            raise StaffError(f"The username {username!r} is taken.") from exc
        audit(
            tx,
            ACCOUNT_CREATE,
            staff_id=None if actor is None else actor.id,
            detail=f"{username} ({role.value}){'' if actor else ' from the command line'}",
        )
    return staff


async def end_sessions_of(tx: Transaction, *, staff_id: int) -> None:
    """Sign the account out everywhere: every browser session, every open websocket."""
    await tx.session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
    await tx.session.execute(update(Staff).where(Staff.id == staff_id).values(available=False))
    tx.publish_after_commit(staff_channel(staff_id), StaffSignedOut(staff_id=staff_id))


async def sign_out_everywhere(tx: Transaction, *, staff_id: int) -> None:
    """End the account's sessions and sockets, and put its live chats back, at the front."""
    await end_sessions_of(tx, staff_id=staff_id)
    await return_all_to_queue(tx, staff_id=staff_id, text=RELEASED)
    tx.publish_after_commit(QUEUE_CHANNEL, QueueChanged(reason="presence"))


async def list_staff(svc: Services) -> list[Staff]:
    async with svc.read() as session:
        result = await session.execute(select(Staff).order_by(Staff.active.desc(), Staff.username))
        return list(result.scalars())


async def set_presence(svc: Services, *, staff_id: int, available: bool | None = None) -> None:
    """Heartbeat from a dashboard; optionally change available/away."""
    values: dict[str, object] = {"seen_at": svc.clock()}
    if available is not None:
        values["available"] = available
    async with svc.transaction() as tx:
        await tx.session.execute(update(Staff).where(Staff.id == staff_id).values(**values))
        if available is not None:
            # Waiting people see how many counsellors are available.
            tx.publish_after_commit(QUEUE_CHANNEL, QueueChanged(reason="presence"))


def online_since(svc: Services, now: datetime) -> datetime:
    """A workspace seen after this is open: three missed heartbeats mean it is gone."""
    return now - timedelta(seconds=svc.settings.heartbeat_s * 3)


@dataclass(frozen=True)
class Colleague:
    """A signed-in colleague as the Transfer list and the supervisor page show them."""

    id: int
    display_name: str
    role: StaffRole
    available: bool
    live_chats: int


async def colleagues_online(svc: Services) -> list[Colleague]:
    """Active staff whose workspace is open, supervisors first, with their chat counts."""
    now = svc.clock()
    live = (
        select(ChatSession.counsellor_id, func.count(ChatSession.id).label("n"))
        .where(ChatSession.state == SessionState.LIVE.value)
        .group_by(ChatSession.counsellor_id)
        .subquery()
    )
    async with svc.read() as session:
        rows = (
            await session.execute(
                select(Staff, func.coalesce(live.c.n, 0))
                .outerjoin(live, live.c.counsellor_id == Staff.id)
                .where(Staff.active.is_(True), Staff.seen_at >= online_since(svc, now))
                .order_by(Staff.display_name)
            )
        ).all()
    colleagues = [
        Colleague(s.id, s.display_name, StaffRole(s.role), s.available, int(n)) for s, n in rows
    ]
    return sorted(colleagues, key=lambda c: not c.role.can_supervise)
