"""What admins do to staff accounts: roles, password resets, deactivation, unlocks.

Each change locks the account's row, checks that the actor is an admin, and
writes its audit line in the same transaction. Where an account's access
shrinks (deactivated, password reset, role lowered) it is signed out everywhere
at once: its browser sessions end, its open sockets close (``StaffSignedOut``)
and its live chats go back to the front of the queue. The service is never left
without an active admin. Creating accounts is ``create_staff``
(gateway/actions/staff.py), which the command line uses too.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select

from gateway.actions.audit import (
    ACCOUNT_DEACTIVATE,
    ACCOUNT_REACTIVATE,
    ACCOUNT_RESET,
    ACCOUNT_ROLE,
    ACCOUNT_UNLOCK,
    audit,
)
from gateway.actions.staff import StaffError, hash_password, is_admin, sign_out_everywhere
from gateway.models import Staff
from gateway.services import Services, Transaction
from gateway.types import StaffRole

# Higher is more access; a change to a lower rank signs the account out.
RANK = {StaffRole.COUNSELLOR: 0, StaffRole.SUPERVISOR: 1, StaffRole.ADMIN: 2}
# Temporary passwords: no 0/o, 1/l/i to misread when an admin reads one out.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def temporary_password() -> str:
    """Sixteen characters in four groups (about 79 bits): easy to read out, hard to guess."""
    groups = ("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4))
    return "-".join(groups)


async def _target(tx: Transaction, *, actor: Staff, staff_id: int) -> Staff:
    if not is_admin(actor):
        raise StaffError("Only admins manage accounts.")
    staff = (
        await tx.session.execute(select(Staff).where(Staff.id == staff_id).with_for_update())
    ).scalar_one_or_none()
    if staff is None:
        raise StaffError("There is no such account.")
    return staff


async def _other_active_admins(tx: Transaction, *, staff_id: int) -> int:
    """Active admins besides ``staff_id``, their rows locked so two admins cannot race."""
    rows = await tx.session.execute(
        select(Staff.id)
        .where(Staff.role == StaffRole.ADMIN.value, Staff.active.is_(True), Staff.id != staff_id)
        .with_for_update()
    )
    return len(rows.all())


async def set_staff_active(svc: Services, *, actor: Staff, staff_id: int, active: bool) -> Staff:
    """Deactivate (signed out everywhere at once) or reactivate (and unlock) an account."""
    if not is_admin(actor):
        raise StaffError("Only admins manage accounts.")
    if actor.id == staff_id:
        raise StaffError("You cannot deactivate or reactivate your own account.")
    async with svc.transaction() as tx:
        staff = await _target(tx, actor=actor, staff_id=staff_id)
        if staff.active == active:
            return staff
        last_admin = staff.role == StaffRole.ADMIN.value and not await _other_active_admins(
            tx, staff_id=staff.id
        )
        if not active and last_admin:
            raise StaffError("That is the last active admin account.")
        staff.active = active
        if active:
            # Whatever throttled the account before it was switched off starts afresh.
            await svc.signin_limits.unlock(username=staff.username)
        else:
            await sign_out_everywhere(tx, staff_id=staff.id)
        action = ACCOUNT_REACTIVATE if active else ACCOUNT_DEACTIVATE
        audit(tx, action, staff_id=actor.id, detail=staff.username)
    return staff


async def set_role(svc: Services, *, actor: Staff, staff_id: int, role: StaffRole) -> Staff:
    """Change an account's role; a lower role signs it out everywhere at once."""
    async with svc.transaction() as tx:
        staff = await _target(tx, actor=actor, staff_id=staff_id)
        old = StaffRole(staff.role)
        if old == role:
            return staff
        if (
            old == StaffRole.ADMIN
            and staff.active
            and not await _other_active_admins(tx, staff_id=staff.id)
        ):
            raise StaffError(
                "That is the last active admin account: make someone else an admin first."
            )
        staff.role = role.value
        if RANK[role] < RANK[old]:
            await sign_out_everywhere(tx, staff_id=staff.id)
        audit(tx, ACCOUNT_ROLE, staff_id=actor.id, detail=f"{staff.username}: {old} to {role}")
    return staff


async def reset_password(svc: Services, *, actor: Staff, staff_id: int) -> tuple[Staff, str]:
    """A one-time temporary password (shown once to the admin, stored only as a hash).

    The account is signed out everywhere and unlocked, and must choose a new
    password at its next sign-in (``must_change_password``).
    """
    if not is_admin(actor):
        raise StaffError("Only admins manage accounts.")
    if actor.id == staff_id:
        raise StaffError("Change your own password on the password page instead.")
    temporary = temporary_password()
    password_hash = await svc.passwords.run(hash_password, temporary)
    async with svc.transaction() as tx:
        staff = await _target(tx, actor=actor, staff_id=staff_id)
        staff.password_hash = password_hash
        staff.must_change_password = True
        await sign_out_everywhere(tx, staff_id=staff.id)
        await svc.signin_limits.unlock(username=staff.username)
        audit(tx, ACCOUNT_RESET, staff_id=actor.id, detail=staff.username)
    return staff, temporary


async def unlock_account(svc: Services, *, actor: Staff, staff_id: int) -> Staff:
    """Clear the account's sign-in counters, from every address."""
    async with svc.transaction() as tx:
        staff = await _target(tx, actor=actor, staff_id=staff_id)
        await svc.signin_limits.unlock(username=staff.username)
        audit(tx, ACCOUNT_UNLOCK, staff_id=actor.id, detail=staff.username)
    return staff
