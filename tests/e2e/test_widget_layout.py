"""The conversation stays visible while the person waits: at a phone with its keyboard
open (375x360), a phone (375x667) and two laptop screens (1280x800, 1366x768), the
queue panel is a line or two with a disclosure, and the last message, the message box
and Quick exit are inside the viewport. The disclosure (aria-expanded) opens the
helplines of the session's language and is remembered for the session."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.conftest import LiveServer
from tests.e2e.support import no_serious_axe_violations

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

TIMEOUT = 10_000
SIZES = [(375, 360), (375, 667), (1280, 800), (1366, 768)]


async def ask_for_a_person(page: Page, log: Locator) -> None:
    """Press "Talk to a person" once the bot has finished answering (its button or the
    suggested reply of the same name, whichever is shown), then choose to wait."""
    await expect(log.locator(".msg").last).to_have_class(re.compile(r"\bbot\b"), timeout=TIMEOUT)
    await expect(page.get_by_text("The bot is typing…")).to_be_hidden(timeout=TIMEOUT)
    await page.get_by_role("button", name="Talk to a person").click(timeout=TIMEOUT)
    await page.get_by_role("button", name="Wait for a counsellor").click(timeout=TIMEOUT)
    await expect(page.get_by_text("You are number 1 in the queue.")).to_be_visible(timeout=TIMEOUT)


async def queued_with_messages(page: Page, server: LiveServer) -> Locator:
    """The person agrees, says a few things, asks for a person and waits in the queue."""
    await page.goto(f"{server.http}/demo")
    await page.get_by_role("button", name="Chat with us").click()
    log = page.get_by_role("log", name="Conversation")
    await page.get_by_role("button", name="Yes, continue").click(timeout=TIMEOUT)
    await expect(log).to_contain_text("How are you feeling", timeout=TIMEOUT)
    box = page.get_by_role("textbox", name="Your message")
    for text in ("I've had a really hard week", "Work has been too much and I can't sleep"):
        await box.fill(text)
        await box.press("Enter")
        await expect(log.locator(".msg.you").last).to_contain_text("Sent", timeout=TIMEOUT)
    await ask_for_a_person(page, log)
    await box.fill("Thank you, I'll wait here")
    await box.press("Enter")
    await expect(log.locator(".msg.you").last).to_contain_text("Sent", timeout=TIMEOUT)
    return log


async def assert_in_view(page: Page, *items: Locator) -> None:
    size = page.viewport_size
    assert size is not None
    for item in items:
        box = await item.bounding_box()
        assert box is not None, item
        assert box["x"] >= 0 and box["y"] >= 0, (item, box, size)
        assert box["x"] + box["width"] <= size["width"] + 0.5, (item, box, size)
        assert box["y"] + box["height"] <= size["height"] + 0.5, (item, box, size)


async def assert_conversation_visible(page: Page, log: Locator) -> None:
    """The message box, Quick exit and the whole last message are on screen, the last
    message inside the visible part of the log (scrolled to its end)."""
    last = log.locator(".msg").last
    await expect(last).to_be_visible()
    await assert_in_view(
        page,
        page.get_by_role("textbox", name="Your message"),
        page.get_by_role("button", name="Quick exit"),
        page.get_by_role("button", name="Send"),
        last,
    )
    shown = await log.bounding_box()
    msg = await last.bounding_box()
    assert shown is not None and msg is not None
    assert msg["y"] >= shown["y"] - 0.5, (msg, shown)
    assert msg["y"] + msg["height"] <= shown["y"] + shown["height"] + 0.5, (msg, shown)


async def test_the_queue_panel_leaves_the_conversation_in_view_at_every_size(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    log = await queued_with_messages(page, live_server)
    toggle = page.get_by_role("button", name="Other ways to get help")
    queue = page.get_by_role("region", name="You are in the queue")
    if await toggle.get_attribute("aria-expanded") == "true":
        await toggle.click()  # nobody on duty opens it by itself on a tall screen
    await expect(toggle).to_have_attribute("aria-expanded", "false")
    await expect(queue.get_by_role("button", name="Leave the queue")).to_be_hidden()

    for width, height in SIZES:
        await page.set_viewport_size({"width": width, "height": height})
        await expect(queue).to_be_visible()
        await page.screenshot(path=str(artifacts / f"widget-layout-queued-{width}x{height}.png"))
        await assert_conversation_visible(page, log)
        # Compact: the place in the queue and the wait in a line or two.
        panel = await queue.bounding_box()
        assert panel is not None and panel["height"] <= 90, (width, height, panel)

    # Opened: the helplines of the session's language, each with its links; the
    # conversation and the message box still in view, here and on a small phone.
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    more = queue.locator("#hw-qmore")
    await expect(more).to_contain_text("Samaritans: call 116 123, free, day or night")
    await expect(more.get_by_role("link", name="Call Samaritans")).to_have_attribute(
        "href", "tel:116123"
    )
    await expect(more.get_by_role("link", name="Text SHOUT")).to_have_attribute(
        "href", "sms:85258?body=SHOUT"
    )
    await expect(queue.get_by_role("button", name="Leave the queue")).to_be_visible()
    await page.screenshot(path=str(artifacts / "widget-layout-queued-open-1366x768.png"))
    await assert_conversation_visible(page, log)
    await page.set_viewport_size({"width": 375, "height": 360})
    await page.screenshot(path=str(artifacts / "widget-layout-queued-open-375x360.png"))
    await assert_conversation_visible(page, log)

    # The choice is kept for the session: a reload opens it the same way.
    await page.reload()
    await expect(page.get_by_role("log", name="Conversation")).to_contain_text(
        "I'll wait here", timeout=TIMEOUT
    )
    await expect(toggle).to_have_attribute("aria-expanded", "true", timeout=TIMEOUT)
    await toggle.focus()
    await page.keyboard.press("Enter")
    await expect(toggle).to_have_attribute("aria-expanded", "false")

    await page.set_viewport_size({"width": 1280, "height": 800})
    await no_serious_axe_violations(page, axe_source)
    await context.close()
