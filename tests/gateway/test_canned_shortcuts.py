"""Canned-response shortcuts: lowercase letters, digits and hyphens, each used once."""

from __future__ import annotations

import pytest

from gateway.actions.canned import CannedError, list_canned, save_canned
from gateway.services import Services
from gateway.types import StaffRole
from tests.factories import make_staff

pytestmark = pytest.mark.asyncio


async def test_shortcuts_are_checked_unique_and_optional(svc: Services) -> None:
    lead = await make_staff(svc, name="Lead", role=StaffRole.SUPERVISOR)
    wait = await save_canned(
        svc, staff=lead, title="Thank you for waiting", body="Thanks.", shortcut=" /wait-thanks "
    )
    assert wait.shortcut == "wait-thanks"  # a leading "/" and spaces are forgiven
    for bad in ("Wait", "wait thanks", "-wait", "wait_thanks", "w" * 33):
        with pytest.raises(CannedError, match="lowercase letters, digits or hyphens"):
            await save_canned(svc, staff=lead, title="Bad", body="Bad", shortcut=bad)
    with pytest.raises(CannedError, match="/wait-thanks is already used by"):
        await save_canned(svc, staff=lead, title="Another", body="Hi", shortcut="wait-thanks")
    # Saving a response again with its own shortcut is not a clash; clearing it is allowed.
    await save_canned(
        svc, staff=lead, canned_id=wait.id, title="Waiting", body="Thanks.", shortcut="wait-thanks"
    )
    plain = await save_canned(svc, staff=lead, title="No shortcut", body="Hello")
    assert plain.shortcut is None
    await save_canned(svc, staff=lead, canned_id=wait.id, title="Waiting", body="Thanks.")
    assert sorted((c.title, c.shortcut) for c in await list_canned(svc)) == [
        ("No shortcut", None),
        ("Waiting", None),
    ]
