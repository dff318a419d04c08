"""Signing staff in and out: throttled password checks and server-side browser sessions.

Failed attempts are rows in ``login_failures``, so every gateway process sees
the same count. Password hashing runs in a worker thread (it takes a good
fraction of a second by design) and outside any transaction, so neither the
event loop nor the database waits for it.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update

from gateway.actions.queue import RELEASED, return_all_to_queue
from gateway.actions.staff import end_sessions_of, hash_password, hasher
from gateway.events import QUEUE_CHANNEL, QueueChanged
from gateway.models import LoginFailure, Staff, StaffSession
from gateway.security import hash_token, new_token
from gateway.services import Services

# Verified against when the username is unknown, so the time taken does not tell.
_DUMMY_HASH = hasher.hash("not a real password")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def normalise_username(username: str) -> str:
    return username.strip().lower()[:64]


@dataclass(frozen=True)
class SignInResult:
    staff: Staff | None
    blocked: bool = False


async def sign_in(svc: Services, *, username: str, password: str) -> SignInResult:
    """Check a username and password, at most ``login_max_failures`` misses per window."""
    username = normalise_username(username)
    window = timedelta(seconds=svc.settings.login_window_s)
    now = svc.clock()
    async with svc.read() as session:
        failures = (
            await session.execute(
                select(func.count(LoginFailure.id)).where(
                    LoginFailure.username == username, LoginFailure.failed_at > now - window
                )
            )
        ).scalar_one()
        staff = (
            await session.execute(select(Staff).where(Staff.username == username))
        ).scalar_one_or_none()
    if failures >= svc.settings.login_max_failures:
        return SignInResult(None, blocked=True)
    stored = staff.password_hash if staff is not None else _DUMMY_HASH
    matched = await asyncio.to_thread(_verify, stored, password)
    if staff is None or not matched or not staff.active:
        async with svc.transaction() as tx:
            await tx.session.execute(
                delete(LoginFailure).where(LoginFailure.failed_at <= tx.now - window)
            )
            tx.session.add(LoginFailure(username=username, failed_at=tx.now))
        return SignInResult(None)
    new_hash = None
    if hasher.check_needs_rehash(staff.password_hash):
        new_hash = await asyncio.to_thread(hash_password, password)
    async with svc.transaction() as tx:
        await tx.session.execute(delete(LoginFailure).where(LoginFailure.username == username))
        if new_hash is not None:
            await tx.session.execute(
                update(Staff).where(Staff.id == staff.id).values(password_hash=new_hash)
            )
            staff.password_hash = new_hash
    return SignInResult(staff)


@dataclass(frozen=True)
class SignedIn:
    staff: Staff
    csrf_token: str


async def start_staff_session(
    svc: Services, *, staff_id: int, replaces: str | None = None
) -> tuple[str, str]:
    """A new opaque session id (for the cookie) and its CSRF token.

    Any session the browser already had (``replaces``) is ended, so an id
    planted before sign-in is never the one that becomes signed in.
    """
    session_id = new_token()
    csrf = secrets.token_urlsafe(32)
    async with svc.transaction() as tx:
        if replaces:
            await tx.session.execute(
                delete(StaffSession).where(StaffSession.id_hash == hash_token(replaces))
            )
        tx.session.add(
            StaffSession(
                id_hash=hash_token(session_id),
                staff_id=staff_id,
                csrf_token=csrf,
                created_at=tx.now,
                expires_at=tx.now + timedelta(seconds=svc.settings.staff_session_s),
            )
        )
    return session_id, csrf


async def staff_for_session(svc: Services, *, session_id: str) -> SignedIn | None:
    """Who a cookie belongs to, if the session is current and the account active."""
    now = svc.clock()
    async with svc.read() as session:
        row = (
            await session.execute(
                select(Staff, StaffSession.csrf_token)
                .join(StaffSession, StaffSession.staff_id == Staff.id)
                .where(
                    StaffSession.id_hash == hash_token(session_id),
                    StaffSession.expires_at > now,
                    Staff.active.is_(True),
                )
            )
        ).one_or_none()
    if row is None:
        return None
    return SignedIn(row[0], row[1])


async def sign_out(svc: Services, *, session_id: str) -> None:
    """End every session of the account, close its websockets, and put its chats back.

    The people in its live chats go to the front of the queue at once rather
    than waiting out the grace period of a dropped connection.
    """
    async with svc.transaction() as tx:
        owner = (
            await tx.session.execute(
                select(StaffSession.staff_id).where(StaffSession.id_hash == hash_token(session_id))
            )
        ).scalar_one_or_none()
        if owner is None:
            return
        await end_sessions_of(tx, staff_id=owner)
        await return_all_to_queue(tx, staff_id=owner, text=RELEASED)
        tx.publish_after_commit(QUEUE_CHANNEL, QueueChanged(reason="presence"))


async def forget_expired_sessions(svc: Services) -> int:
    """Delete sessions past their expiry (run with the timers)."""
    async with svc.transaction() as tx:
        result = await tx.session.execute(
            delete(StaffSession).where(StaffSession.expires_at <= tx.now)
        )
    return int(getattr(result, "rowcount", 0) or 0)
