"""An honest wait and true availability in a real browser (issue 10, items 1 and 10).

A person waits while two counsellors are signed in: with a counsellor free they
are told someone should be with them shortly (no number); when people in crisis
arrive ahead and both counsellors are busy, they are told everyone is busy and
given a range of minutes from the recent past. The counsellors' dashboard shows
the same figures: counsellors free of those on duty.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import update

from gateway.models import ChatSession
from gateway.services import Services
from gateway.settings import Settings
from gateway.types import Priority, SessionState
from tests.conftest import LiveServer, make_settings
from tests.e2e.support import no_serious_axe_violations
from tests.e2e.test_first_chat import TIMEOUT, sign_in
from tests.factories import make_queued_session, make_session, make_staff

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # One chat each, so that two claims make both counsellors busy.
    return make_settings(database_url, tmp_path, counsellor_max_chats=1)


async def earlier_chats(svc: Services, count: int, *, minutes: float) -> None:
    """Chats of the last hour that were claimed and have ended, ``minutes`` long each:
    the recent past the estimate reads (claims in the last hour, chat lengths)."""
    now = svc.clock()
    for i in range(count):
        session = await make_session(svc)
        claimed = now - timedelta(minutes=10 * (i + 2) + minutes)
        async with svc.transaction() as tx:
            await tx.session.execute(
                update(ChatSession)
                .where(ChatSession.id == session.id)
                .values(
                    state=SessionState.CLOSED.value,
                    claimed_at=claimed,
                    closed_at=claimed + timedelta(minutes=minutes),
                )
            )


async def open_workspace(browser: Browser, server: LiveServer, username: str) -> Page:
    # The CSP is bypassed only so that axe-core can be injected for the checks.
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = await context.new_page()
    await sign_in(page, server, username)
    return page


async def test_a_person_is_told_shortly_then_busy_and_the_dashboard_agrees(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    await earlier_chats(svc, 3, minutes=15)
    sam = await make_staff(svc, name="Sam", available=False)
    jo = await make_staff(svc, name="Jo", available=False)
    sams = await open_workspace(browser, live_server, sam.username)
    jos = await open_workspace(browser, live_server, jo.username)
    figure = sams.locator("#available-count")
    await expect(figure).to_have_text("2 counsellors free of 2 on duty", timeout=TIMEOUT)

    person = await (
        await browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
    ).new_page()
    await person.goto(f"{live_server.http}/demo")
    await person.get_by_role("button", name="Chat with us").click()
    log = person.get_by_role("log", name="Conversation")
    await expect(log).to_contain_text("welcome", ignore_case=True, timeout=TIMEOUT)
    await person.get_by_role("button", name="Yes, continue").click()
    await expect(log).to_contain_text("feeling", timeout=TIMEOUT)
    await person.get_by_role("textbox", name="Your message").fill("I want to talk to a person")
    await person.get_by_role("button", name="Send").click()

    # A counsellor is free: "shortly", and no number of minutes anywhere.
    status = person.get_by_role("status").filter(has_text="in the queue")
    await expect(status).to_contain_text("number 1 in the queue", timeout=TIMEOUT)
    await expect(status).to_contain_text("Someone should be with you shortly.")
    await expect(status).not_to_contain_text("minute")
    await person.get_by_role("button", name="Other ways to get help").click()
    await expect(person.get_by_text("Counsellors on duty: 2. Free to chat now: 2.")).to_be_visible()
    await person.screenshot(path=str(artifacts / "honest-wait-1-person-shortly.png"))
    await expect(sams.get_by_role("button", name="Claim")).not_to_have_count(0)
    await sams.screenshot(path=str(artifacts / "honest-wait-2-dashboard-free.png"))
    await no_serious_axe_violations(sams, axe_source)

    # Two people in crisis arrive, ahead of this person; each counsellor takes one.
    for _ in range(2):
        await make_queued_session(svc, priority=Priority.CRISIS, reason="crisis:test")
    await expect(status).to_contain_text("number 3 in the queue", timeout=TIMEOUT)
    for page in (sams, jos):
        await page.get_by_role("button", name="Take next").click()
        await expect(page.get_by_role("log", name="Transcript").first).to_be_visible(
            timeout=TIMEOUT
        )

    # Both busy: the person is told so, with a range from the recent past, and the
    # counsellors on duty still counted (a chat page keeps a counsellor present).
    await expect(status).to_contain_text("number 1 in the queue", timeout=TIMEOUT)
    await expect(status).to_contain_text("Everyone is busy right now.")
    await expect(status).to_contain_text(re.compile(r"about \d+ to \d+ minutes"))
    await expect(person.get_by_text("Counsellors on duty: 2. Free to chat now: 0.")).to_be_visible()
    await person.screenshot(path=str(artifacts / "honest-wait-3-person-busy.png"))
    await no_serious_axe_violations(person, axe_source)

    # A page with no live view of its own (the wrap-up form) still keeps Sam on
    # duty: live.js opens a presence-only socket there.
    chat_url = re.sub(r"[?#].*$", "", sams.url)
    assert re.search(r"/counsellor/sessions/\d+$", chat_url)
    async with sams.expect_websocket(lambda ws: ws.url.endswith("/counsellor/ws?presence=1")):
        await sams.goto(f"{chat_url}/wrap-up")
    await expect(sams.get_by_role("button", name=re.compile("End chat"))).to_be_visible()

    await jos.get_by_role("link", name="Queue", exact=True).click()
    await expect(jos.locator("#available-count")).to_have_text(
        "0 counsellors free of 2 on duty", timeout=TIMEOUT
    )
    await jos.screenshot(path=str(artifacts / "honest-wait-4-dashboard-busy.png"))
    await no_serious_axe_violations(jos, axe_source)
