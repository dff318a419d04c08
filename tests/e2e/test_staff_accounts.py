"""Staff accounts in a real browser: an admin creates an account and resets a password;
the counsellor is signed out at once and must choose a new password before anything else.
Screenshots go to ``test-artifacts/`` and into the counsellor guide; axe checks each page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from gateway.actions.queue import claim_session
from gateway.services import Services
from gateway.types import StaffRole
from tests.conftest import LiveServer
from tests.counsellor_ui.support import use_quick_setup
from tests.e2e.support import no_serious_axe_violations
from tests.e2e.test_counsellor_workspace import TIMEOUT, desk, sign_in
from tests.factories import make_queued_session, make_staff

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def test_an_admin_keeps_accounts_and_a_reset_password_is_replaced_first(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    admin = await make_staff(svc, name="Ada", role=StaffRole.ADMIN, available=False)
    sam = await make_staff(svc, name="Sam", available=False)
    held = await make_queued_session(svc)
    (admin_ctx, admin_page), (sam_ctx, sam_page) = await desk(browser), await desk(browser)
    await sign_in(admin_page, live_server, admin.username)
    await sign_in(sam_page, live_server, sam.username)
    assert (await claim_session(svc, session_id=held.id, staff_id=sam.id)).won

    await admin_page.get_by_role("link", name="Staff accounts").click()
    await admin_page.get_by_label("Username").fill("robin")
    await admin_page.get_by_label("Name shown to people").fill("Robin")
    await admin_page.get_by_label("Role", exact=True).select_option("counsellor")
    await admin_page.get_by_role("button", name="Create account").click()
    await expect(admin_page.get_by_text("Created counsellor account 'robin'.")).to_be_visible()
    issued = admin_page.get_by_role("heading", name="Temporary password for Robin")
    await expect(issued).to_be_visible()
    await admin_page.screenshot(path=artifacts / "accounts-1-created.png", full_page=True)
    await no_serious_axe_violations(admin_page, axe_source)

    await admin_page.get_by_label("Role of Sam").select_option("supervisor")
    await admin_page.get_by_role("button", name="Change role of Sam").click()
    await expect(admin_page.get_by_text("Sam is now supervisor.")).to_be_visible()

    # A reset signs Sam out at once (Sam's chat goes back to the queue) ...
    await admin_page.get_by_role("button", name="Reset password of Sam").click()
    await expect(
        admin_page.get_by_role("heading", name="Temporary password for Sam")
    ).to_be_visible()
    temporary = (await admin_page.locator(".temporary-password code").inner_text()).strip()
    assert re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", temporary)
    await expect(sam_page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=TIMEOUT)
    await admin_page.screenshot(path=artifacts / "accounts-2-reset.png", full_page=True)
    await no_serious_axe_violations(admin_page, axe_source)

    # ... and the temporary password leads only to choosing a new one.
    await sam_page.get_by_label("Username").fill(sam.username)
    await sam_page.get_by_label("Password").fill(temporary)
    await sam_page.get_by_role("button", name="Sign in").click()
    choose = sam_page.get_by_role("heading", name="Choose a new password")
    await expect(choose).to_be_visible()
    await sam_page.goto(f"{live_server.http}/counsellor/supervisor")
    await expect(choose).to_be_visible()
    await expect(sam_page.get_by_role("navigation", name="Workspace")).to_have_count(0)
    await sam_page.get_by_label("Temporary password you signed in with").fill(temporary)
    await sam_page.get_by_label("New password (at least 10 characters)").fill("Sam's own pass 1")
    await sam_page.get_by_label("New password again").fill("Sam's own pass 2")
    await sam_page.get_by_role("button", name="Set new password").click()
    await expect(sam_page.get_by_role("alert")).to_have_text(
        "The two new passwords were not the same."
    )
    await sam_page.screenshot(path=artifacts / "accounts-3-choose-password.png", full_page=True)
    await no_serious_axe_violations(sam_page, axe_source)
    await sam_page.get_by_label("Temporary password you signed in with").fill(temporary)
    await sam_page.get_by_label("New password (at least 10 characters)").fill("Sam's own pass 1")
    await sam_page.get_by_label("New password again").fill("Sam's own pass 1")
    await sam_page.get_by_role("button", name="Set new password").click()
    await expect(sam_page.get_by_text("Your new password is set.")).to_be_visible()
    await expect(sam_page.get_by_role("link", name="Supervisor view")).to_be_visible()

    await admin_page.get_by_role("link", name="Staff accounts").click()
    await admin_page.get_by_role("button", name="Deactivate Sam").click()
    await expect(admin_page.get_by_text("Sam is deactivated")).to_be_visible()
    await expect(sam_page.get_by_role("heading", name="Sign in")).to_be_visible(timeout=TIMEOUT)
    await admin_page.screenshot(path=artifacts / "accounts-4-list.png", full_page=True)
    await no_serious_axe_violations(admin_page, axe_source)
    for context in (admin_ctx, sam_ctx):
        await context.close()
