"""Canned responses: replies supervisors keep ready for counsellors to insert and edit."""

from __future__ import annotations

import re

from sqlalchemy import delete, select

from gateway.models import CannedResponse, Staff
from gateway.services import Services
from gateway.types import StaffRole

MAX_TITLE_CHARS = 80
# Typed after "/" in the message box: short, lowercase, no spaces (the column holds 32).
MAX_SHORTCUT_CHARS = 32
SHORTCUT = re.compile(r"[a-z0-9][a-z0-9-]*")
# A canned reply is inserted into the compose box, whose limit is a message's.
MAX_BODY_CHARS = 4000


class CannedError(ValueError):
    """The response cannot be saved; the message says why."""


def _require_supervisor(staff: Staff) -> None:
    if not StaffRole(staff.role).can_supervise:
        raise PermissionError("Only supervisors and admins keep canned responses.")


async def list_canned(svc: Services) -> list[CannedResponse]:
    async with svc.read() as session:
        result = await session.execute(
            select(CannedResponse).order_by(CannedResponse.title, CannedResponse.id)
        )
        return list(result.scalars())


def check_shortcut(raw: str) -> str | None:
    """The shortcut as stored (None for none), or ``CannedError`` saying what to fix."""
    shortcut = raw.strip().lstrip("/")
    if not shortcut:
        return None
    if len(shortcut) > MAX_SHORTCUT_CHARS or not SHORTCUT.fullmatch(shortcut):
        raise CannedError(
            f"A shortcut is 1 to {MAX_SHORTCUT_CHARS} lowercase letters, digits or hyphens, "
            "starting with a letter or digit (for example: wait-thanks)."
        )
    return shortcut


async def save_canned(
    svc: Services,
    *,
    staff: Staff,
    title: str,
    body: str,
    shortcut: str = "",
    canned_id: int | None = None,
) -> CannedResponse:
    """Add a response, or change one when ``canned_id`` is given."""
    _require_supervisor(staff)
    title, body = title.strip(), body.strip()
    if not title or len(title) > MAX_TITLE_CHARS:
        raise CannedError(f"A title must be 1 to {MAX_TITLE_CHARS} characters.")
    if not body or len(body) > MAX_BODY_CHARS:
        raise CannedError(f"The text must be 1 to {MAX_BODY_CHARS:,} characters.")
    key = check_shortcut(shortcut)
    async with svc.transaction() as tx:
        if key is not None:
            taken = (
                await tx.session.execute(
                    select(CannedResponse.title).where(
                        CannedResponse.shortcut == key, CannedResponse.id != (canned_id or 0)
                    )
                )
            ).scalar_one_or_none()
            if taken is not None:
                raise CannedError(f"The shortcut /{key} is already used by \u201c{taken}\u201d.")
        if canned_id is None:
            canned = CannedResponse(title=title, body=body, shortcut=key)
            tx.session.add(canned)
        else:
            found = await tx.session.get(CannedResponse, canned_id)
            if found is None:
                raise CannedError("That response no longer exists.")
            canned = found
            canned.title, canned.body, canned.shortcut = title, body, key
        canned.updated_by = staff.id
        canned.updated_at = tx.now
        await tx.session.flush()
    return canned


async def delete_canned(svc: Services, *, staff: Staff, canned_id: int) -> None:
    _require_supervisor(staff)
    async with svc.transaction() as tx:
        await tx.session.execute(delete(CannedResponse).where(CannedResponse.id == canned_id))
