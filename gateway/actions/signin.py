"""Signing staff in and out: throttled password checks and server-side browser sessions.

Each attempt passes the throttles first (gateway/signin_limits.py: per address,
per address and account, and a slow-down per account that never locks anyone
out), then the password check, which runs in a worker thread within the bound on
password hashing (gateway/password_work.py) and outside any transaction, so
neither the event loop nor the database waits for it. Every sign-in, failed
sign-in and sign-out writes its audit line in the transaction of its change.
"""

from __future__ import annotations

import asyncio
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select, update

from gateway.actions.audit import PASSWORD_CHANGE, SIGN_IN, SIGN_IN_FAILED, SIGN_OUT, audit
from gateway.actions.staff import (
    StaffError,
    check_new_password,
    end_sessions_of,
    hash_password,
    hasher,
    sign_out_everywhere,
)
from gateway.models import Staff, StaffSession
from gateway.password_work import PasswordWorkBusy
from gateway.security import hash_token, new_token
from gateway.services import Services, Transaction
from gateway.signin_limits import Refusal

# Verified against when the username is unknown, so the time taken does not tell.
_DUMMY_HASH = hasher.hash("not a real password")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def normalise_username(username: str) -> str:
    """One account however it is typed: ``SAM``, `` sam `` and ``sam`` are the same."""
    return username.strip().lower()[:64]


def _could_be_username(username: str) -> bool:
    """Control characters (NUL above all) are in no username: no need to look it up."""
    return bool(username) and not any(unicodedata.category(c) == "Cc" for c in username)


@dataclass(frozen=True)
class SignInResult:
    """The account on success; otherwise why not (a wrong password leaves all three unset)."""

    staff: Staff | None
    refused: Refusal | None = None  # a throttle refused the attempt before any check
    retry_after_s: float = 0.0  # ... and when the next attempt will be allowed
    busy: bool = False  # too much password hashing already running: try in a moment
    delayed_s: float = 0.0  # the account's slow-down this attempt waited first


def _count_refusal(svc: Services, reason: str) -> None:
    if svc.metrics is not None:
        svc.metrics.sign_in_refused(reason)


async def _find(svc: Services, username: str) -> Staff | None:
    if not _could_be_username(username):
        return None
    async with svc.read() as session:
        return (
            await session.execute(select(Staff).where(Staff.username == username))
        ).scalar_one_or_none()


async def sign_in(
    svc: Services, *, username: str, password: str, address: str = "", device: str | None = None
) -> SignInResult:
    """Check a username and password from ``address`` (a key for the throttles only).

    ``device`` is the browser's known-browser cookie: if this account signed in from
    that browser before, the account's slow-down is skipped and the password check
    goes first in the line for hashing (the address throttles still apply).
    """
    username = normalise_username(username)
    limits = svc.signin_limits
    verdict = await limits.check(address=address, username=username)
    if verdict.refused is not None:
        _count_refusal(svc, "address" if verdict.refused == "address" else "address_account")
        return SignInResult(None, refused=verdict.refused, retry_after_s=verdict.retry_after_s)
    known = limits.recognises(device, username)
    delay = 0.0 if known else verdict.delay_s
    if delay:
        await asyncio.sleep(delay)
    staff = await _find(svc, username)
    stored = staff.password_hash if staff is not None else _DUMMY_HASH
    try:
        matched = await svc.passwords.run(_verify, stored, password, first=known)
    except PasswordWorkBusy:
        _count_refusal(svc, "busy")
        return SignInResult(None, busy=True, delayed_s=delay)
    if staff is None or not matched or not staff.active:
        await limits.failed(username=username)
        async with svc.transaction() as tx:
            audit(
                tx,
                SIGN_IN_FAILED,
                staff_id=None if staff is None else staff.id,
                detail=username if _could_be_username(username) else "(not a username)",
            )
        return SignInResult(None, delayed_s=delay)
    await limits.succeeded(address=address, username=username)
    if hasher.check_needs_rehash(staff.password_hash):
        try:
            new_hash = await svc.passwords.run(hash_password, password)
        except PasswordWorkBusy:
            return SignInResult(staff, delayed_s=delay)  # replaced at a quieter sign-in
        async with svc.transaction() as tx:
            await tx.session.execute(
                update(Staff).where(Staff.id == staff.id).values(password_hash=new_hash)
            )
        staff.password_hash = new_hash
    return SignInResult(staff, delayed_s=delay)


@dataclass(frozen=True)
class SignedIn:
    staff: Staff
    csrf_token: str


def _add_session(tx: Transaction, *, staff_id: int, lifetime_s: float) -> tuple[str, str]:
    session_id = new_token()
    csrf = secrets.token_urlsafe(32)
    tx.session.add(
        StaffSession(
            id_hash=hash_token(session_id),
            staff_id=staff_id,
            csrf_token=csrf,
            created_at=tx.now,
            expires_at=tx.now + timedelta(seconds=lifetime_s),
        )
    )
    return session_id, csrf


async def start_staff_session(
    svc: Services, *, staff_id: int, replaces: str | None = None
) -> tuple[str, str]:
    """A new opaque session id (for the cookie) and its CSRF token: a sign-in.

    Any session the browser already had (``replaces``) is ended, whoever's it was,
    so an id planted before sign-in is never the one that becomes signed in.
    """
    async with svc.transaction() as tx:
        if replaces:
            await tx.session.execute(
                delete(StaffSession).where(StaffSession.id_hash == hash_token(replaces))
            )
        ids = _add_session(tx, staff_id=staff_id, lifetime_s=svc.settings.staff_session_s)
        audit(tx, SIGN_IN, staff_id=staff_id)
    return ids


async def change_password(
    svc: Services, *, staff_id: int, current: str, new: str, address: str = ""
) -> tuple[str, str]:
    """Replace a password (the current one must be right), then sign in afresh.

    Every other session of the account ends and its sockets close (whoever knew
    the old password is out); this browser gets a new session id and CSRF token.
    ``PasswordWorkBusy`` passes through when hashing is at its bound.
    """
    check_new_password(new)
    if new == current:
        raise StaffError("Choose a new password, not the one you have now.")
    async with svc.read() as session:
        staff = await session.get(Staff, staff_id)
    if staff is None or not staff.active:
        raise StaffError("There is no such account.")
    limits = svc.signin_limits
    verdict = await limits.check(address=address, username=staff.username)
    if verdict.refused is not None:
        minutes = max(1, round(verdict.retry_after_s / 60))
        raise StaffError(f"Too many wrong passwords. Try again in {minutes} minutes.")
    if not await svc.passwords.run(_verify, staff.password_hash, current):
        await limits.failed(username=staff.username)
        raise StaffError("Your current password was not right.")
    new_hash = await svc.passwords.run(hash_password, new)
    async with svc.transaction() as tx:
        await tx.session.execute(
            update(Staff)
            .where(Staff.id == staff_id)
            .values(password_hash=new_hash, must_change_password=False)
        )
        await end_sessions_of(tx, staff_id=staff_id)
        ids = _add_session(tx, staff_id=staff_id, lifetime_s=svc.settings.staff_session_s)
        audit(tx, PASSWORD_CHANGE, staff_id=staff_id)
    await limits.succeeded(address=address, username=staff.username)
    return ids


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
        audit(tx, SIGN_OUT, staff_id=owner)
        await sign_out_everywhere(tx, staff_id=owner)


async def forget_expired_sessions(svc: Services) -> int:
    """Delete sessions past their expiry (run with the timers)."""
    async with svc.transaction() as tx:
        result = await tx.session.execute(
            delete(StaffSession).where(StaffSession.expires_at <= tx.now)
        )
    return int(getattr(result, "rowcount", 0) or 0)
