"""The queue arrives over the counsellor socket every heartbeat and whenever it
changes: a row that did not change keeps its element, so a counsellor's keyboard
focus (or a click in progress) on a Claim button is never taken away. Before, the
whole table was drawn again each time and the focus fell back to the page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from gateway.services import Services
from gateway.types import Priority
from tests.conftest import LiveServer
from tests.counsellor_ui.support import use_quick_setup
from tests.e2e.test_chat_workspace import TIMEOUT, staff_page
from tests.factories import make_queued_session, make_staff

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def test_a_focused_claim_button_keeps_its_focus_while_the_queue_changes(
    live_server: LiveServer, browser: Browser, artifacts: Path
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    sam = await make_staff(svc, name="Sam", available=False)
    context, page = await staff_page(browser, live_server, sam.username)
    queue = page.locator("#queue-body")
    first = await make_queued_session(svc)
    claim = queue.get_by_role("button", name=f"Claim chat {first.id}")
    await expect(claim).to_be_visible(timeout=TIMEOUT)
    await claim.focus()

    # Someone after them, then someone in crisis before them.
    after = await make_queued_session(svc)
    await expect(queue.get_by_role("button", name=f"Claim chat {after.id}")).to_be_visible(
        timeout=TIMEOUT
    )
    ahead = await make_queued_session(svc, priority=Priority.CRISIS, reason="request:button")
    ahead_claim = queue.get_by_role("button", name=f"Claim chat {ahead.id}")
    await expect(ahead_claim).to_be_visible(timeout=TIMEOUT)
    rows = queue.locator("tr")
    await expect(rows.first).to_have_attribute("data-session", str(ahead.id))
    # At least one heartbeat's queue (every 5 s in tests) with nothing changed.
    await page.wait_for_timeout(6_000)
    await expect(claim).to_be_focused()
    await page.screenshot(path=artifacts / "dashboard-focus-kept.png")

    # The key press claims the chat the focus is on.
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name=f"Chat {first.id}")).to_be_visible(
        timeout=TIMEOUT
    )
    await context.close()
