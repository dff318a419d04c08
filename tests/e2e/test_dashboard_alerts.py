"""The dashboard as two counsellors see it: arrivals, a crisis, live markers, a wrap-up,
and a transfer that is declined and one that is cancelled.

Two people on the widget (one presses "Talk to a person", one writes in crisis),
two counsellors at 1366x768. Screenshots go to ``test-artifacts/`` and into the
counsellor guide.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from gateway.actions.queue import claim_session
from gateway.models import Staff, WrapUpOutcome
from gateway.services import Services
from tests.conftest import LiveServer
from tests.counsellor_ui.support import use_quick_setup
from tests.e2e.support import no_serious_axe_violations
from tests.e2e.test_chat_workspace import PHONE, TIMEOUT, say, staff_page
from tests.factories import make_queued_session, make_staff

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def person(browser: Browser, server: LiveServer) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    await page.goto(f"{server.http}/demo")
    await page.get_by_role("button", name="Chat with us").click()
    await page.get_by_role("button", name="Yes, continue").click()
    return context, page


async def desks(
    svc: Services, browser: Browser, server: LiveServer
) -> list[tuple[Staff, BrowserContext, Page]]:
    """Sam and Jo, counsellors, each signed in on their own dashboard."""
    signed_in = []
    for name in ("Sam", "Jo"):
        staff = await make_staff(svc, name=name, available=False)
        signed_in.append((staff, *await staff_page(browser, server, staff.username)))
    return signed_in


async def test_a_crisis_stands_out_and_markers_and_wrap_up_follow_the_chat(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    (_, sam_ctx, sam_page), (_, jo_ctx, jo_page) = await desks(svc, browser, live_server)

    # The crisis sound is off until a counsellor switches it on, and it is remembered.
    sound = sam_page.get_by_label("Play a sound when someone in crisis arrives")
    await expect(sound).not_to_be_checked()
    await sound.check()
    await sam_page.reload()
    await expect(sound).to_be_checked()
    await sam_page.get_by_role("heading", name="Your chats").click()  # re-arms the sound

    # An ordinary arrival: a button press, with what the person typed as the preview.
    alex_ctx, alex = await person(browser, live_server)
    await say(alex, "I've had a really hard week with exams")
    await alex.get_by_role("button", name="Talk to a person").last.click()
    await expect(alex.get_by_text(re.compile(r"number \d in the queue"))).to_be_visible(
        timeout=TIMEOUT
    )
    queue = sam_page.get_by_role("table")
    await expect(queue).to_contain_text("pressed \u2018Talk to a person\u2019", timeout=TIMEOUT)
    await expect(queue).to_contain_text("I've had a really hard week with exams")
    alerts = sam_page.get_by_role("region", name="Alerts")
    await expect(alerts).to_contain_text("Someone new is waiting.")
    await expect(sam_page).to_have_title(re.compile(r"^\(1 waiting\) Queue"))
    await sam_page.screenshot(path=artifacts / "alerts-1-ordinary-arrival.png")

    # A crisis arrival: its own colour, icon and words, the level, and the title says so.
    # Jo's browser asks for reduced motion: the alert then never moves.
    await jo_page.emulate_media(reduced_motion="reduce")
    kim_ctx, kim = await person(browser, live_server)
    await say(kim, "I'm going to end it all tonight")
    crisis = alerts.locator(".crisis-alert")
    await expect(crisis).to_contain_text(
        re.compile(r"Crisis: (imminent danger|high risk)"), timeout=TIMEOUT
    )
    await expect(crisis.get_by_role("img", name="Crisis")).to_be_visible()
    await expect(crisis).to_contain_text("\u201cend it all\u201d")  # the person's own words
    for page in (sam_page, jo_page):
        await expect(page).to_have_title(re.compile(r"^\(1 crisis, 2 waiting\) Queue"))
    # Sam switched the sound on and heard it; Jo did not, and nothing played for Jo.
    await expect(sound).to_have_attribute("data-played", "1")
    await expect(
        jo_page.get_by_label("Play a sound when someone in crisis arrives")
    ).not_to_have_attribute("data-played", re.compile("."))
    motion = "el => getComputedStyle(el).animationName"
    assert await crisis.evaluate(motion) == "crisis-pulse"
    jos_crisis = jo_page.get_by_role("region", name="Alerts").locator(".crisis-alert")
    assert await jos_crisis.evaluate(motion) == "none"
    await sam_page.screenshot(path=artifacts / "alerts-2-crisis-arrival.png")
    await no_serious_axe_violations(sam_page, axe_source)

    # Jo claims the crisis from the alert itself.
    await (
        jo_page.get_by_role("region", name="Alerts")
        .get_by_role("button", name=re.compile(r"^Claim chat \d+$"))
        .click()
    )
    await expect(jo_page.get_by_role("log", name="Transcript")).to_contain_text(
        "end it all tonight"
    )
    await expect(jo_page.locator(".chat-panel:not([hidden]) mark")).to_have_text(
        re.compile("end it all", re.IGNORECASE)
    )
    await expect(crisis).to_have_count(0, timeout=TIMEOUT)  # Sam's alert goes: claimed

    # Alex, still waiting, now writes in crisis: that is a crisis arrival too.
    await say(alex, "honestly I just want to end my life")
    await expect(crisis).to_have_count(1, timeout=TIMEOUT)
    await expect(sam_page).to_have_title(re.compile(r"^\(1 crisis, 1 waiting\) Queue"))
    await expect(sound).to_have_attribute("data-played", "2")

    # Sam takes Alex from the alert; the dashboard marks the chat as Alex writes.
    await crisis.get_by_role("button", name=re.compile(r"^Claim chat \d+$")).click()
    chat_page = sam_page
    await expect(chat_page.get_by_role("log", name="Transcript")).to_contain_text("hard week")
    dashboard = await sam_ctx.new_page()
    await dashboard.goto(f"{live_server.http}/counsellor/")
    mine = dashboard.locator("#mine li")
    await expect(mine).to_have_count(1)
    await expect(mine.get_by_text("waiting for your reply")).to_be_hidden()
    await say(alex, "are you still there?")
    await say(alex, "sorry, it's a lot")
    await expect(mine.get_by_text("waiting for your reply")).to_be_visible(timeout=TIMEOUT)
    await expect(mine.locator(".unread-count")).to_have_text("2 new")
    await dashboard.screenshot(path=artifacts / "alerts-3-live-markers.png")
    await chat_page.get_by_label("Your message").fill("I'm here, take your time.")
    await chat_page.get_by_role("button", name="Send").click()
    await expect(mine.get_by_text("waiting for your reply")).to_be_hidden(timeout=TIMEOUT)
    await expect(mine.locator(".unread-count")).to_be_hidden()

    # The wrap-up: at least one outcome, and as many as apply.
    await chat_page.get_by_role("button", name="End chat").click()
    await chat_page.get_by_label("Low").check()
    await chat_page.get_by_role("button", name="End chat and save").click()
    await expect(chat_page.get_by_role("alert")).to_have_text("Choose at least one outcome.")
    outcomes = chat_page.get_by_role("group", name="Outcomes")
    await outcomes.get_by_label("Listened and supported").check()
    await outcomes.get_by_label("Signposted to other services").check()
    await chat_page.screenshot(path=artifacts / "alerts-4-wrap-up-outcomes.png", full_page=True)
    await no_serious_axe_violations(chat_page, axe_source)
    await chat_page.get_by_role("button", name="End chat and save").click()
    await expect(
        chat_page.get_by_text(re.compile(r"Chat \d+ has ended. Wrap-up saved."))
    ).to_be_visible()
    async with svc.read() as session:
        saved = sorted((await session.execute(select(WrapUpOutcome.outcome))).scalars())
    assert saved == ["Listened and supported", "Signposted to other services"]
    for context in (sam_ctx, jo_ctx, alex_ctx, kim_ctx):
        await context.close()


async def test_a_transfer_declined_by_keyboard_then_one_cancelled(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    (sam, sam_ctx, sam_page), (jo, jo_ctx, jo_page) = await desks(svc, browser, live_server)
    sams_chat, jos_chat = await make_queued_session(svc), await make_queued_session(svc)
    await claim_session(svc, session_id=sams_chat.id, staff_id=sam.id)
    await claim_session(svc, session_id=jos_chat.id, staff_id=jo.id)
    await sam_page.goto(f"{live_server.http}/counsellor/sessions/{sams_chat.id}")
    await jo_page.goto(f"{live_server.http}/counsellor/sessions/{jos_chat.id}")
    to_jo = f"{jo.id}"

    await sam_page.get_by_label("Transfer to").select_option(to_jo)
    await sam_page.get_by_label("Handover note").fill("Wants to talk about work; prefers a woman.")
    await sam_page.get_by_role("button", name="Transfer").click()
    state = sam_page.locator('[data-role="transfer-state"]:visible')
    await expect(state).to_have_text(re.compile(r"^Waiting for Jo to accept\."))
    await sam_page.screenshot(path=artifacts / "transfer-0-waiting.png")

    # Jo, in the middle of another chat, reads the note and declines by keyboard.
    offer = jo_page.get_by_role("region", name="Transfer offers")
    await expect(offer).to_contain_text(f"Sam offers you chat {sams_chat.id}", timeout=TIMEOUT)
    await expect(offer).to_contain_text("Wants to talk about work; prefers a woman.")
    await jo_page.screenshot(path=artifacts / "transfer-1-offer-on-chat-page.png")
    await no_serious_axe_violations(jo_page, axe_source)
    await offer.get_by_role("button", name="Decline").focus()
    await jo_page.keyboard.press("Enter")
    await expect(offer.get_by_role("button", name="Decline")).to_have_count(0)

    await expect(state).to_have_text(
        f"Jo declined chat {sams_chat.id}. It stays with you.", timeout=TIMEOUT
    )
    await expect(sam_page.get_by_label("Your message")).to_be_enabled()
    await sam_page.screenshot(path=artifacts / "transfer-2-declined.png")

    # Offered again, then withdrawn by Sam: Jo is told and the offer goes.
    await sam_page.get_by_label("Transfer to").select_option(to_jo)
    await sam_page.get_by_label("Handover note").fill("Still wants to talk about work.")
    await sam_page.get_by_role("button", name="Transfer").click()
    await expect(offer).to_contain_text("Still wants to talk about work.", timeout=TIMEOUT)
    await state.get_by_role("button", name="Cancel transfer").click()
    await expect(offer).to_contain_text(
        f"Sam cancelled the offer of chat {sams_chat.id}.", timeout=TIMEOUT
    )
    await expect(offer.get_by_role("button", name="Accept")).to_have_count(0)
    await jo_page.screenshot(path=artifacts / "transfer-3-cancelled.png")
    for context in (sam_ctx, jo_ctx):
        await context.close()
