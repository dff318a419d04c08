"""The counsellor workspace in a real browser, three people at once.

A person on the demo page asks for someone; two counsellors race to claim the
chat; the winner reads what came before, answers with an edited canned
response, keeps a private note and transfers the chat with a handover note;
the colleague who lost the race takes it over and ends it with the wrap-up.
Screenshots go to ``test-artifacts/`` and into the counsellor guide.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from gateway.actions.canned import save_canned
from gateway.actions.queue import claim_session
from gateway.services import Services
from gateway.types import Priority, StaffRole
from tests.conftest import LiveServer
from tests.counsellor_ui.support import use_quick_setup
from tests.e2e.support import no_serious_axe_violations
from tests.factories import PASSWORD, make_queued_session, make_staff

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

TIMEOUT = 10_000
DESK: ViewportSize = {"width": 1280, "height": 900}


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def desk(browser: Browser) -> tuple[BrowserContext, Page]:
    # The CSP is bypassed only so that axe-core can be injected for the checks.
    context = await browser.new_context(viewport=DESK, bypass_csp=True)
    return context, await context.new_page()


async def sign_in(page: Page, server: LiveServer, username: str) -> None:
    await page.goto(f"{server.http}/counsellor/")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name=re.compile("Waiting"))).to_be_visible()


async def test_a_race_a_transfer_and_a_wrap_up_with_a_person_on_the_widget(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    sam = await make_staff(svc, name="Sam", available=False)
    jo = await make_staff(svc, name="Jo", available=False)
    lead = await make_staff(svc, name="Lead", role=StaffRole.SUPERVISOR, available=False)
    await save_canned(
        svc, staff=lead, title="Thank you for waiting", body="Thank you for waiting. I'm here now."
    )
    (sam_ctx, sam_page), (jo_ctx, jo_page) = await desk(browser), await desk(browser)
    await sign_in(sam_page, live_server, sam.username)
    await sign_in(jo_page, live_server, jo.username)

    person_ctx = await browser.new_context(viewport={"width": 390, "height": 844})
    person = await person_ctx.new_page()
    await person.goto(f"{live_server.http}/demo")
    await person.get_by_role("button", name="Chat with us").click()
    chat_log = person.get_by_role("log", name="Conversation")
    await expect(chat_log).to_contain_text("welcome", ignore_case=True, timeout=TIMEOUT)
    await person.get_by_role("button", name="Yes, continue").click()
    box = person.get_by_role("textbox", name="Your message")
    await box.fill("I've had a really hard week with exams")
    await person.get_by_role("button", name="Send").click()
    await box.fill("I want to talk to a person")
    await person.get_by_role("button", name="Send").click()
    await expect(person.get_by_text(re.compile("number 1 in the queue"))).to_be_visible(
        timeout=TIMEOUT
    )

    # Both dashboards show the person without a reload; then both click Claim at once.
    for page in (sam_page, jo_page):
        await expect(page.get_by_role("button", name="Claim")).to_have_count(1, timeout=TIMEOUT)
        await expect(page).to_have_title(re.compile(r"^\(1 waiting\) Queue"))
    await expect(sam_page.get_by_role("table")).to_contain_text("asked for a person")
    await sam_page.screenshot(path=artifacts / "workspace-1-dashboard.png")
    await no_serious_axe_violations(sam_page, axe_source)
    await asyncio.gather(
        sam_page.get_by_role("button", name="Claim").click(),
        jo_page.get_by_role("button", name="Claim").click(),
    )
    transcript_of = {p: p.get_by_role("log", name="Transcript") for p in (sam_page, jo_page)}
    await expect(
        sam_page.get_by_role("heading", name=re.compile(r"^Chat \d+$|This chat is not yours"))
    ).to_be_visible()
    sam_won = await transcript_of[sam_page].count() == 1
    winner, loser = (sam_page, jo_page) if sam_won else (jo_page, sam_page)
    winner_name, loser_name = ("Sam", "Jo") if sam_won else ("Jo", "Sam")
    await expect(loser.get_by_role("heading", name="This chat is not yours")).to_be_visible()
    await expect(loser.get_by_text(f"{winner_name} claimed this chat first.")).to_be_visible()
    # Nothing of the chat itself: a refused page is no way to read someone's words.
    await expect(loser.get_by_text("I want to talk to a person")).to_have_count(0)
    await expect(loser.get_by_text("hard week with exams")).to_have_count(0)
    await loser.screenshot(path=artifacts / "workspace-2-lost-the-race.png")
    await loser.get_by_role("link", name="Back to the queue").click()

    # The winner reads everything from the first message, the bot's part marked.
    transcript = transcript_of[winner]
    await expect(transcript).to_contain_text("With the bot (automatic)")
    await expect(transcript).to_contain_text("hard week with exams")
    await expect(transcript).to_contain_text(f"{winner_name} has joined the chat.")
    await expect(chat_log).to_contain_text(f"{winner_name} has joined the chat.", timeout=TIMEOUT)

    # A canned response, found by typing "/" and part of its title, goes into the box,
    # is edited, and is sent.
    compose = winner.get_by_label("Your message")
    await compose.press_sequentially("/thank")
    await compose.press("ArrowDown")
    await compose.press("Enter")
    await expect(compose).to_have_value("Thank you for waiting. I'm here now.")
    await compose.press("End")
    await compose.type(" How are the exams going?")
    await winner.get_by_role("button", name="Send").click()
    await expect(transcript.get_by_text("Delivered")).to_be_visible(timeout=TIMEOUT)
    await expect(chat_log).to_contain_text("How are the exams going?", timeout=TIMEOUT)

    # Typing shows both ways.
    await box.fill("Badly. I can't sleep")
    await expect(winner.get_by_text("The person is typing…")).to_be_visible(timeout=TIMEOUT)
    await person.get_by_role("button", name="Send").click()
    await expect(transcript).to_contain_text("I can't sleep", timeout=TIMEOUT)
    await compose.fill("That sounds exhausting")
    await expect(person.get_by_text(re.compile(f"{winner_name} is typing"))).to_be_visible(
        timeout=TIMEOUT
    )
    await winner.get_by_role("button", name="Send").click()

    await winner.get_by_label("New note").fill("Exam stress, poor sleep. No risk disclosed.")
    await winner.get_by_role("button", name="Add note").click()
    await expect(winner.get_by_text("Note saved. Only staff see it.")).to_be_visible()
    await expect(winner.get_by_role("log", name="Transcript")).to_contain_text("exhausting")
    # Show the line that put the chat in the queue, highlighted, for the guide.
    await winner.locator(".chat-panel:not([hidden]) .transcript").evaluate(
        "list => { const line = list.querySelector('.trigger');"
        " list.scrollTop = line.offsetTop - list.offsetTop - 240; }"
    )
    await winner.screenshot(path=artifacts / "workspace-3-conversation.png", full_page=True)
    await no_serious_axe_violations(winner, axe_source)

    # Transfer to the colleague who lost the race, with a handover note.
    to = winner.get_by_label("Transfer to")
    choice = to.locator("option", has_text=re.compile(f"^{loser_name} "))
    await to.select_option(await choice.get_attribute("value") or "")
    await winner.get_by_label("Handover note").fill("Exam stress; talked about sleep. Calm.")
    await winner.get_by_role("button", name="Transfer").click()
    # An offer: the chat stays with the winner, live, until the colleague accepts.
    await expect(winner.get_by_text(f"Waiting for {loser_name} to accept.")).to_be_visible()
    offer = loser.get_by_role("region", name="Transfer offers")
    await expect(offer).to_contain_text(f"{winner_name} offers you chat", timeout=TIMEOUT)
    await expect(offer).to_contain_text("Exam stress; talked about sleep. Calm.")
    await expect(chat_log).not_to_contain_text("passed to another counsellor")
    await loser.screenshot(path=artifacts / "workspace-4-transfer-offer.png")
    await no_serious_axe_violations(loser, axe_source)
    await offer.get_by_role("button", name="Accept").click()
    await expect(chat_log).to_contain_text("passed to another counsellor", timeout=TIMEOUT)
    await expect(person.get_by_text(f"Chatting with {loser_name}")).to_be_visible(timeout=TIMEOUT)
    await expect(winner.get_by_text(f"This chat is now with {loser_name}.")).to_be_visible(
        timeout=TIMEOUT
    )
    taken = loser.get_by_role("log", name="Transcript")
    await expect(taken).to_contain_text("hard week with exams")
    await expect(loser.get_by_text("Exam stress; talked about sleep. Calm.")).to_be_visible()
    await loser.get_by_label("Your message").fill(f"Hi, I'm {loser_name}. I've read your chat.")
    await loser.get_by_role("button", name="Send").click()
    await expect(chat_log).to_contain_text("I've read your chat.", timeout=TIMEOUT)

    # End needs the wrap-up; the person is told in plain words.
    await loser.get_by_role("button", name="End chat").click()
    await expect(loser.get_by_role("heading", name=re.compile(r"^End chat \d+$"))).to_be_visible()
    await loser.get_by_label("Listened and supported").check()
    await loser.get_by_label("Signposted to other services").check()
    await loser.get_by_label("Low").check()
    await loser.get_by_label("Notes").fill("Sleep and exams. Suggested talking to tutor.")
    await loser.screenshot(path=artifacts / "workspace-5-wrap-up.png", full_page=True)
    await no_serious_axe_violations(loser, axe_source)
    await loser.get_by_role("button", name="End chat and save").click()
    await expect(
        loser.get_by_text(re.compile(r"Chat \d+ has ended. Wrap-up saved."))
    ).to_be_visible()
    await expect(chat_log).to_contain_text("ended the chat", timeout=TIMEOUT)
    await expect(person.get_by_text("Chat ended")).to_be_visible()
    await person.screenshot(path=artifacts / "workspace-6-person.png")
    for context in (sam_ctx, jo_ctx, person_ctx):
        await context.close()


async def test_a_supervisor_watches_the_service_and_keeps_replies(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    lead = await make_staff(svc, name="Alex", role=StaffRole.SUPERVISOR, available=False)
    sam = await make_staff(svc, name="Sam", available=False)
    await make_queued_session(svc, priority=Priority.CRISIS, reason="crisis:suicide")
    held = await make_queued_session(svc)
    (lead_ctx, lead_page), (sam_ctx, sam_page) = await desk(browser), await desk(browser)
    await sign_in(lead_page, live_server, lead.username)
    await sign_in(sam_page, live_server, sam.username)
    assert (await claim_session(svc, session_id=held.id, staff_id=sam.id)).won

    await lead_page.get_by_role("link", name="Supervisor view").click()
    live = lead_page.locator("#live")
    await expect(live.get_by_role("table", name="Live chats")).to_contain_text("Sam")
    await expect(lead_page.get_by_text("Median wait")).to_be_visible()
    await lead_page.screenshot(path=artifacts / "workspace-7-supervisor.png", full_page=True)
    await no_serious_axe_violations(lead_page, axe_source)

    await lead_page.get_by_role("link", name="Canned responses").click()
    await lead_page.get_by_label("Title", exact=True).fill("Breathing together")
    await lead_page.get_by_label("Text", exact=True).fill(
        "Would it help to slow down for a moment and breathe together?"
    )
    await lead_page.get_by_role("button", name="Add response").click()
    await expect(lead_page.get_by_text("Breathing together", exact=True)).to_be_visible()
    await lead_page.screenshot(path=artifacts / "workspace-8-canned.png", full_page=True)

    # Staff accounts are an admin's page (tests/e2e/test_staff_accounts.py).
    await expect(lead_page.get_by_role("link", name="Staff accounts")).to_have_count(0)
    for context in (lead_ctx, sam_ctx):
        await context.close()
