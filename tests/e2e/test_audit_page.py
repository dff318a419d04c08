"""An admin reads the audit log in Chromium: who claimed, released and ended a chat."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from gateway.actions.queue import claim_session, release_session
from gateway.actions.wrapup import check_wrapup, end_session
from gateway.services import Services
from gateway.types import StaffRole
from tests.conftest import LiveServer
from tests.counsellor_ui.support import use_quick_setup
from tests.e2e.support import no_serious_axe_violations
from tests.factories import PASSWORD, make_queued_session, make_staff

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def test_an_admin_finds_who_ended_a_chat(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    admin = await make_staff(svc, name="Ada", role=StaffRole.ADMIN, available=False)
    sam = await make_staff(svc, name="Sam")
    jo = await make_staff(svc, name="Jo")
    chat = await make_queued_session(svc)
    other = await make_queued_session(svc)
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).won
    assert await release_session(svc, session_id=chat.id, staff_id=sam.id)
    assert (await claim_session(svc, session_id=chat.id, staff_id=jo.id)).won
    assert (await claim_session(svc, session_id=other.id, staff_id=sam.id)).won
    form = check_wrapup(
        svc, outcomes=svc.settings.wrapup_outcomes[:1], risk_level="low", notes="never shown"
    )
    assert (await end_session(svc, session_id=chat.id, staff_id=jo.id, wrap_up=form)).done

    # CSP bypassed only so that axe-core can be injected.
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{live_server.http}/counsellor/")
    await page.get_by_label("Username").fill(admin.username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await (
        page.get_by_role("navigation", name="Workspace")
        .get_by_role("link", name="Audit log")
        .click()
    )
    await expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    table = page.get_by_role("table", name="Audit log lines matching the filter, newest first")
    await expect(table).to_be_visible()
    await expect(table.get_by_role("columnheader", name="Who")).to_be_visible()
    await page.screenshot(path=str(artifacts / "audit-log.png"), full_page=True)
    await no_serious_axe_violations(page, axe_source)

    # Everything about one chat, from the form's labelled field, then who ended it.
    await page.get_by_label("Chat reference").fill(str(chat.id))
    await page.get_by_label("Action").select_option(label="Ended a chat (wrap-up)")
    await page.get_by_role("button", name="Show").click()
    rows = table.get_by_role("row")
    await expect(rows).to_have_count(2)  # the header and the one end
    await expect(rows.nth(1)).to_contain_text(f"Jo ({jo.username})")
    await expect(rows.nth(1)).to_contain_text("risk low")
    await expect(table).not_to_contain_text("never shown")

    # The whole story of that chat, newest first, by its link.
    await page.get_by_role("link", name="Clear the filter").click()
    await page.get_by_label("Chat reference").fill(f"Chat {chat.id}")
    await page.get_by_role("button", name="Show").press("Enter")
    await expect(rows).to_have_count(5)
    actions = [await rows.nth(i).locator("td").nth(2).inner_text() for i in range(1, 5)]
    assert actions == [
        "Ended a chat (wrap-up)",
        "Claimed a chat",
        "Chat returned to the queue or the bot",
        "Claimed a chat",
    ]
    await page.screenshot(path=str(artifacts / "audit-log-one-chat.png"), full_page=True)
    await no_serious_axe_violations(page, axe_source)

    # A date that cannot be read is said in words, next to the form.
    await page.goto(f"{live_server.http}/counsellor/audit?from=2026-02-30")
    await expect(page.get_by_role("alert")).to_contain_text("YYYY-MM-DD")
    await no_serious_axe_violations(page, axe_source)
    await context.close()
