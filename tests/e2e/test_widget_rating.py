"""After a chat with a counsellor: the person is offered one optional question ("How
did this chat feel for you?", five answers in words, a comment) with the helplines
under it; the answer is stored with no link to the chat, and a supervisor sees it
(count, answers by score, average, the comment as plain text)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from gateway.actions.queue import claim_session
from gateway.actions.ratings import ratings_summary
from gateway.actions.wrapup import check_wrapup, end_session
from gateway.models import ChatSession
from gateway.services import Services
from gateway.types import SessionState, StaffRole
from tests.conftest import LiveServer
from tests.e2e.support import no_serious_axe_violations
from tests.e2e.test_first_chat import sign_in
from tests.e2e.test_widget_layout import ask_for_a_person
from tests.factories import make_staff

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

TIMEOUT = 10_000
COMMENT = "Sam was kind. <b>Thank you</b>"


async def waiting_session(svc: Services) -> int:
    async with svc.read() as session:
        query = select(ChatSession.id).where(ChatSession.state == SessionState.QUEUED.value)
        return (await session.execute(query)).scalar_one()


async def join_queue(page: Page) -> None:
    log = page.get_by_role("log", name="Conversation")
    await page.get_by_role("button", name="Yes, continue").click(timeout=TIMEOUT)
    await expect(log).to_contain_text("How are you feeling", timeout=TIMEOUT)
    box = page.get_by_role("textbox", name="Your message")
    await box.fill("I keep arguing with my family")
    await box.press("Enter")
    await expect(log.locator(".msg.you").last).to_contain_text("Sent", timeout=TIMEOUT)
    await ask_for_a_person(page, log)


async def test_a_person_rates_a_counsellor_chat_and_a_supervisor_sees_it(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    sam = await make_staff(svc, name="Sam", available=False)
    lead = await make_staff(svc, name="Lee", role=StaffRole.SUPERVISOR, available=False)

    person = await (await browser.new_context(viewport={"width": 390, "height": 844})).new_page()
    await person.goto(f"{live_server.http}/demo")
    await person.get_by_role("button", name="Chat with us").click()
    await join_queue(person)
    assert (await claim_session(svc, session_id=await waiting_session(svc), staff_id=sam.id)).won
    await expect(person.get_by_text("Chatting with Sam")).to_be_visible(timeout=TIMEOUT)

    # The person ends the live chat; the question comes with the helplines.
    await person.get_by_role("button", name="End chat").click()
    await person.get_by_role("button", name="Yes, end it").click()
    question = person.get_by_role("group", name="How did this chat feel for you?")
    await expect(question).to_be_visible(timeout=TIMEOUT)
    for word in ("Very bad", "Bad", "Okay", "Good", "Very good"):
        await expect(question.get_by_role("radio", name=word, exact=True)).to_be_visible()
    ended = person.locator(".ended")
    await expect(ended).to_contain_text("Samaritans: call 116 123, free, day or night")
    await expect(ended.get_by_role("link", name="Call Samaritans")).to_have_attribute(
        "href", "tel:116123"
    )
    await person.screenshot(path=str(artifacts / "widget-rating-1-question.png"))

    # Sending with no answer says what to do; the answer is picked by keyboard.
    await person.get_by_role("button", name="Send answer").click()
    await expect(person.get_by_role("alert")).to_contain_text("Choose an answer first")
    await expect(question.get_by_role("radio", name="Very bad")).to_be_focused()
    for _ in range(3):
        await person.keyboard.press("ArrowRight")
    await expect(question.get_by_role("radio", name="Good", exact=True)).to_be_checked()
    await person.get_by_label("Anything you would like to add? (optional)").fill(COMMENT)
    await person.screenshot(path=str(artifacts / "widget-rating-2-answered.png"))
    await person.get_by_role("button", name="Send answer").click()
    await expect(person.get_by_text("Thank you for telling us.")).to_be_visible()
    await expect(question).to_be_hidden()
    await expect(person.get_by_role("button", name="Start a new chat")).to_be_focused()
    await person.screenshot(path=str(artifacts / "widget-rating-3-thanks.png"))
    await no_serious_axe_violations(person, axe_source)

    # Sent over a new connection with the token (the old one closed when they left).
    for _ in range(50):
        summary = await ratings_summary(svc)
        if summary.count:
            break
        await person.wait_for_timeout(100)
    assert summary.distribution == {1: 0, 2: 0, 3: 0, 4: 1, 5: 0}
    assert [c.comment for c in summary.recent] == [COMMENT]

    # A chat the counsellor ends: the same question on the open connection; Skip.
    await person.get_by_role("button", name="Start a new chat").click()
    await join_queue(person)
    second = await waiting_session(svc)
    assert (await claim_session(svc, session_id=second, staff_id=sam.id)).won
    await expect(person.get_by_text("Chatting with Sam")).to_be_visible(timeout=TIMEOUT)
    form = check_wrapup(svc, outcomes=svc.settings.wrapup_outcomes[:1], risk_level="none", notes="")
    assert (await end_session(svc, session_id=second, staff_id=sam.id, wrap_up=form)).done
    await expect(question).to_be_visible(timeout=TIMEOUT)
    await expect(person.get_by_text("Thank you for telling us.")).to_be_hidden()
    await person.get_by_role("button", name="Skip").click()
    await expect(question).to_be_hidden()
    await expect(person.get_by_role("button", name="Start a new chat")).to_be_focused()
    await expect(person.locator(".ended")).to_contain_text("Samaritans: call 116 123")
    await person.screenshot(path=str(artifacts / "widget-rating-5-skipped.png"))

    # A chat with the bot alone offers no question; the helplines are still there.
    await person.get_by_role("button", name="Start a new chat").click()
    await person.get_by_role("button", name="No thanks").click(timeout=TIMEOUT)
    await expect(person.get_by_text("Chat ended")).to_be_visible(timeout=TIMEOUT)
    await expect(person.locator(".ended")).to_contain_text("Samaritans: call 116 123")
    await expect(question).to_be_hidden()
    await expect(person.get_by_text("Thank you for telling us.")).to_be_hidden()

    # The supervisor sees the count, the answers by score, the average and the
    # comment as the person wrote it (escaped, not markup).
    # The CSP is bypassed only so that axe-core can be injected for the check.
    supervisor = await (
        await browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    ).new_page()
    await sign_in(supervisor, live_server, lead.username)
    await supervisor.goto(f"{live_server.http}/counsellor/supervisor")
    section = supervisor.get_by_role("region", name="How people rated their chats")
    await expect(section).to_contain_text("Answers1")  # the skipped chat adds nothing
    await expect(section).to_contain_text("4.0 out of 5")
    await expect(section.get_by_role("row", name=re.compile("4 · Good"))).to_contain_text("1")
    await expect(section.get_by_text(COMMENT)).to_be_visible()
    assert await section.locator("b").count() == 0
    await section.scroll_into_view_if_needed()
    await supervisor.screenshot(path=str(artifacts / "widget-rating-4-supervisor.png"))
    await no_serious_axe_violations(supervisor, axe_source)
