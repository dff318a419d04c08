"""Staff accounts, sign-in and signed-in browser sessions."""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update

from gateway.events import QUEUE_CHANNEL, QueueChanged, StaffSignedOut, staff_channel
from gateway.models import Staff, StaffSession
from gateway.security import hash_token, new_token
from gateway.services import Services
from gateway.types import StaffRole

# Argon2id with the library's defaults (RFC 9106 low-memory profile).
_hasher = PasswordHasher()
# Verified against when the username is unknown, so timing does not tell.
_DUMMY_HASH = _hasher.hash("not a real password")

MIN_PASSWORD_LENGTH = 10


class StaffError(ValueError):
    pass


def hash_password(password: str) -> str:
    return _hasher.hash(password)


async def create_staff(
    svc: Services,
    *,
    username: str,
    display_name: str,
    password: str,
    role: StaffRole,
) -> Staff:
    username = username.strip().lower()
    if not username or len(username) > 64:
        raise StaffError("A username must be 1 to 64 characters.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"A password must be at least {MIN_PASSWORD_LENGTH} characters.")
    async with svc.transaction() as tx:
        taken = (
            await tx.session.execute(select(func.count()).where(Staff.username == username))
        ).scalar_one()
        if taken:
            raise StaffError(f"The username {username!r} is taken.")
        staff = Staff(
            username=username,
            display_name=display_name.strip() or username,
            password_hash=hash_password(password),
            role=role.value,
            active=True,
            available=False,
            created_at=tx.now,
        )
        tx.session.add(staff)
        await tx.session.flush()
    return staff


async def authenticate(svc: Services, *, username: str, password: str) -> Staff | None:
    """The active account these credentials belong to, or None. Rehashes old hashes."""
    async with svc.transaction() as tx:
        staff = (
            await tx.session.execute(
                select(Staff).where(Staff.username == username.strip().lower())
            )
        ).scalar_one_or_none()
        if staff is None:
            with contextlib.suppress(VerificationError):
                _hasher.verify(_DUMMY_HASH, password)
            return None
        try:
            _hasher.verify(staff.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if not staff.active:
            return None
        if _hasher.check_needs_rehash(staff.password_hash):
            staff.password_hash = hash_password(password)
        return staff


@dataclass(frozen=True)
class SignedIn:
    staff: Staff
    csrf_token: str


async def start_staff_session(svc: Services, *, staff_id: int) -> tuple[str, str]:
    """A new opaque session id (for the cookie) and its CSRF token."""
    session_id = new_token()
    csrf = secrets.token_urlsafe(32)
    async with svc.transaction() as tx:
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


async def end_staff_session(svc: Services, *, session_id: str) -> None:
    async with svc.transaction() as tx:
        owner = (
            await tx.session.execute(
                select(StaffSession.staff_id).where(StaffSession.id_hash == hash_token(session_id))
            )
        ).scalar_one_or_none()
        await tx.session.execute(
            delete(StaffSession).where(StaffSession.id_hash == hash_token(session_id))
        )
        if owner is not None:
            await tx.session.execute(update(Staff).where(Staff.id == owner).values(available=False))
            tx.publish_after_commit(staff_channel(owner), StaffSignedOut(staff_id=owner))


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
