"""Safety information in the widget: a crisis message shows its helpline numbers as
real tap-to-call and tap-to-text links (labelled, reachable by keyboard), a declined
consent offers nothing to delete, and ending the chat gives the helplines."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.conftest import LiveServer
from tests.e2e.support import inject_axe

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

TIMEOUT = 10_000
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter((v) => ['serious', 'critical'].includes(v.impact))
    .map((v) => v.id + ' ' + v.nodes.map((n) => JSON.stringify(n.target)).join(' '));
}"""


async def greeted(browser: Browser, server: LiveServer, height: int) -> tuple[Page, Locator]:
    """The demo page at a phone's width, the chat open and greeted, and its log."""
    page = await (await browser.new_context(viewport={"width": 420, "height": height})).new_page()
    await page.goto(f"{server.http}/demo")
    await page.get_by_role("button", name="Chat with us").click()
    log = page.get_by_role("log", name="Conversation")
    await expect(log).to_contain_text("Is that okay with you?", timeout=TIMEOUT)
    return page, log


async def test_a_crisis_message_shows_working_tel_and_sms_links(
    live_server: LiveServer, browser: Browser, artifacts: Path
) -> None:
    page, log = await greeted(browser, live_server, 1700)  # the whole reply on screen
    await page.get_by_role("textbox", name="Your message").fill("I want to end my life")
    await page.get_by_role("button", name="Send").click()
    await expect(log).to_contain_text("we keep this conversation", timeout=TIMEOUT)

    reply = log.locator(".msg.bot").filter(has_text="Samaritans are free on 116 123")
    links = reply.get_by_role("list", name="Call or text")
    call = links.get_by_role("link", name="Call Samaritans")
    text = links.get_by_role("link", name="Text SHOUT")
    await expect(call).to_have_attribute("href", "tel:116123")
    await expect(text).to_have_attribute("href", "sms:85258?body=SHOUT")
    danger = log.locator(".msg.bot").filter(has_text="call 999 or go to A&E")
    emergency = danger.get_by_role("link", name="Call 999")
    await expect(emergency).to_have_attribute("href", "tel:999")

    # Real links: anchors with a tel: or sms: address, in the tab order.
    protocols = await log.locator(".links a").evaluate_all("as => as.map(a => a.protocol)")
    assert protocols and set(protocols) <= {"tel:", "sms:"}
    await page.get_by_role("textbox", name="Your message").focus()
    for _ in range(40):
        await page.keyboard.press("Shift+Tab")
        if await call.evaluate("a => a.getRootNode().activeElement === a"):
            break
    await expect(call).to_be_focused()
    await log.evaluate("l => { l.scrollTop = l.scrollHeight; }")
    await page.screenshot(path=artifacts / "widget-links-1-crisis.png")

    # Nothing serious for axe-core with the links shown.
    axe = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
    if axe.exists():
        await inject_axe(page, axe.read_text())
        assert await page.evaluate(AXE_RUN) == []


async def test_declining_offers_nothing_to_delete_and_leaving_gives_the_helplines(
    live_server: LiveServer, browser: Browser, artifacts: Path
) -> None:
    page, log = await greeted(browser, live_server, 860)
    await page.get_by_role("button", name="No thanks").click()
    await expect(log).to_contain_text("I won't keep anything from this chat", timeout=TIMEOUT)
    await expect(page.get_by_text("Chat ended")).to_be_visible(timeout=TIMEOUT)
    await expect(log.get_by_role("link", name="Call Samaritans")).to_have_attribute(
        "href", "tel:116123"
    )
    await expect(page.get_by_role("button", name="Delete my conversation")).to_be_hidden()
    # The ending lists every helpline with its hours and links, and asks nothing.
    ended = page.locator(".ended")
    await expect(ended).to_contain_text("Samaritans: call 116 123, free, day or night")
    await expect(ended.get_by_role("link", name="Text SHOUT")).to_have_attribute(
        "href", "sms:85258?body=SHOUT"
    )
    await expect(page.get_by_role("group", name="How did this chat feel for you?")).to_be_hidden()
    await page.screenshot(path=artifacts / "widget-links-2-declined.png")

    # A new chat, ended by the person: the helplines come before the chat closes.
    await page.get_by_role("button", name="Start a new chat").click()
    await expect(log).to_contain_text("Is that okay with you?", timeout=TIMEOUT)
    await expect(page.get_by_role("button", name="Delete my conversation")).to_be_visible()
    await page.get_by_role("button", name="End chat").click()
    await page.get_by_role("button", name="Yes, end it").click()
    notice = log.locator(".msg.system").filter(has_text="You've ended the chat")
    await expect(notice).to_contain_text("116 123", timeout=TIMEOUT)
    await expect(notice.get_by_role("link", name="Call Samaritans")).to_be_visible()
    await page.screenshot(path=artifacts / "widget-links-3-ended.png")

    # Deleting it afterwards clears the conversation; the helplines stay on screen.
    await page.get_by_role("button", name="Delete my conversation").click()
    await page.get_by_role("button", name="Yes, delete it").click()
    await expect(log).to_contain_text("Your conversation has been deleted.", timeout=TIMEOUT)
    await expect(notice).to_be_hidden()
    ended = page.locator(".ended")
    await expect(ended).to_contain_text("Samaritans: call 116 123, free, day or night")
    await expect(ended.get_by_role("link", name="Call 999")).to_have_attribute("href", "tel:999")
    await expect(page.get_by_role("button", name="Start a new chat")).to_be_visible()
    await page.screenshot(path=artifacts / "widget-links-4-deleted.png")
