"""A flood as staff see it in Chromium: one row on the dashboard and the supervisor's
board ("6 sessions from one source in 1 minute"), after the real person waiting;
"Clear flood" for a supervisor only, and the counsellor's queue updates live."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from gateway.actions.floods import mark_flood
from gateway.services import Services
from gateway.types import StaffRole
from tests.conftest import LiveServer
from tests.counsellor_ui.support import use_quick_setup
from tests.e2e.support import no_serious_axe_violations
from tests.e2e.test_chat_workspace import TIMEOUT, staff_page
from tests.factories import make_queued_session, make_staff

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]
LABEL = "0123456789abcdef"


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def test_a_flood_is_one_row_and_a_supervisor_clears_it(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    flood = [await make_queued_session(svc) for _ in range(6)]
    person = await make_queued_session(svc)
    await mark_flood(svc, label=LABEL, session_ids=[s.id for s in flood])
    sam = await make_staff(svc, name="Sam", available=False)
    alex = await make_staff(svc, name="Alex", role=StaffRole.SUPERVISOR, available=False)
    sam_ctx, sam_page = await staff_page(browser, live_server, sam.username)
    alex_ctx, alex_page = await staff_page(browser, live_server, alex.username)

    # The counsellor: the person first, then the flood as one row, with no button.
    queue = sam_page.get_by_role("table")
    rows = queue.locator("tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("Claim")
    await expect(rows.nth(1)).to_contain_text(
        "Flood: 6 sessions from one source in 1 minute, waiting after everyone else."
    )
    await expect(sam_page.get_by_role("button", name="Clear flood")).to_have_count(0)
    await expect(sam_page.get_by_role("button", name=f"Claim chat {person.id}")).to_be_visible()

    # The supervisor's dashboard has the button.
    await expect(alex_page.get_by_role("button", name="Clear flood")).to_be_visible()
    await alex_page.screenshot(path=str(artifacts / "flood-dashboard.png"), full_page=True)
    await no_serious_axe_violations(alex_page, axe_source)

    # The supervisor's board, pushed over its socket, shows it too; clear it there.
    await alex_page.goto(f"{live_server.http}/counsellor/supervisor")
    board = alex_page.locator("#live")
    await expect(board).to_contain_text("Flood: 6 sessions from one source in 1 minute")
    await alex_page.screenshot(path=str(artifacts / "flood-supervisor.png"), full_page=True)
    await no_serious_axe_violations(alex_page, axe_source)
    await board.get_by_role("button", name="Clear flood").click()
    await expect(alex_page.get_by_role("status")).to_contain_text(
        "Flood cleared: 6 waiting sessions closed, each with the helplines."
    )
    await expect(board).not_to_contain_text("Flood:", timeout=TIMEOUT)

    # The counsellor's queue follows live: only the person is left.
    await expect(rows).to_have_count(1, timeout=TIMEOUT)
    await expect(rows.nth(0)).to_contain_text("Claim")
    await sam_ctx.close()
    await alex_ctx.close()
