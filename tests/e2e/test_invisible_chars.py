"""A person's direction override reaches the counsellor as a visible marker, in Chromium.

The person writes "pay " + U+202E + "01 today" on the demo page. Shown raw, U+202E
(RIGHT-TO-LEFT OVERRIDE) draws the rest of the line backwards ("yadot 10"). The
counsellor sees ``[U+202E]`` in its place on the dashboard's preview (pushed live,
and after a reload), in the chat's transcript, and in the live chat as the person
writes again. Screenshots in ``test-artifacts/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from gateway.services import Services
from tests.conftest import LiveServer
from tests.counsellor_ui.support import use_quick_setup
from tests.e2e.support import no_serious_axe_violations, sign_in
from tests.factories import PASSWORD, make_staff

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

TIMEOUT = 10_000
RLO = "\u202e"


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def test_an_override_shows_as_a_marker_on_the_dashboard_transcript_and_live_chat(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    sam = await make_staff(svc, name="Sam", available=True)
    # The CSP is bypassed only so that axe-core can be injected for the check.
    desk = await browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    staff = await desk.new_page()
    await sign_in(staff, live_server.http, sam.username, PASSWORD)

    phone = await browser.new_context(viewport={"width": 390, "height": 844})
    person = await phone.new_page()
    await person.goto(f"{live_server.http}/demo")
    await person.get_by_role("button", name="Chat with us").click()
    chat_log = person.get_by_role("log", name="Conversation")
    await expect(chat_log).to_contain_text("welcome", ignore_case=True, timeout=TIMEOUT)
    await person.get_by_role("button", name="Yes, continue").click()
    box = person.get_by_role("textbox", name="Your message")
    await box.fill("I want to talk to a person")
    await person.get_by_role("button", name="Send").click()
    await expect(person.get_by_text(re.compile("number 1 in the queue"))).to_be_visible(
        timeout=TIMEOUT
    )
    await box.fill(f"pay {RLO}01 today")
    await person.get_by_role("button", name="Send").click()

    # The dashboard's preview, pushed over the socket, then rendered by the server.
    queue = staff.get_by_role("table")
    await expect(queue).to_contain_text("pay [U+202E]01 today", timeout=TIMEOUT)
    await staff.reload()
    await expect(queue).to_contain_text("pay [U+202E]01 today")
    # Drawn as a badge, so it cannot pass for the person's own words.
    await expect(queue.locator(".hidden-char")).to_have_text("[U+202E]")
    assert RLO not in await staff.content()
    await staff.screenshot(path=artifacts / "invisible-1-dashboard.png")

    await staff.get_by_role("button", name="Claim").click()
    transcript = staff.get_by_role("log", name="Transcript")
    await expect(transcript).to_contain_text("pay [U+202E]01 today")
    # The person writes again, live.
    await box.fill(f"{RLO}again, sorry")
    await person.get_by_role("button", name="Send").click()
    await expect(transcript).to_contain_text("[U+202E]again, sorry", timeout=TIMEOUT)
    # Both badges: the server's page drew one, the live chat's script the other.
    await expect(transcript.locator(".hidden-char")).to_have_count(2)
    assert RLO not in await transcript.inner_text()
    await staff.screenshot(path=artifacts / "invisible-2-chat.png")
    await no_serious_axe_violations(staff, axe_source)
    # The person sees their own words as they wrote them.
    await expect(chat_log).to_contain_text(f"{RLO}again, sorry")
    await desk.close()
    await phone.close()
