"""A whole bot conversation in the widget on the demo page, then the queue.

The bot types for a short, fixed time (0.3 s) before each reply here, so the typing
indicator can be seen; every other browser test uses instant replies.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.async_api import Browser, WebSocket, expect

from gateway.settings import Settings
from tests.conftest import LiveServer, make_settings

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

TIMEOUT = 10_000


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    base = make_settings(database_url, tmp_path)
    return replace(base, bot_typing_cps=1000.0, bot_typing_min_s=0.3, bot_typing_max_s=0.3)


async def test_bot_conversation_then_queue(
    live_server: LiveServer, browser: Browser, artifacts: Path
) -> None:
    page = await (await browser.new_context(viewport={"width": 1024, "height": 800})).new_page()
    frames: list[dict[str, object]] = []

    def on_socket(ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: frames.append(json.loads(payload)))

    page.on("websocket", on_socket)
    await page.goto(f"{live_server.http}/demo")
    await page.get_by_role("button", name="Chat with us").click()
    panel = page.get_by_role("dialog", name="Talk to us")
    await expect(panel).to_be_visible()
    log = page.get_by_role("log", name="Conversation")
    typing = page.get_by_text("The bot is typing…")

    # The welcome comes in two parts and asks for consent with buttons.
    await expect(typing).to_be_visible(timeout=TIMEOUT)
    replies = page.get_by_role("group", name="Suggested replies")
    await expect(replies.get_by_role("button", name="Yes, continue")).to_be_visible(timeout=TIMEOUT)
    await expect(typing).to_be_hidden()
    await expect(log).to_contain_text("Bot: Hi, and welcome")
    await expect(log).to_contain_text("Is that okay with you?")
    await expect(replies.get_by_role("button", name="No thanks")).to_be_visible()
    await page.screenshot(path=artifacts / "widget-conversation-1-consent.png")
    await replies.get_by_role("button", name="Yes, continue").click()
    await expect(log).to_contain_text("You: Yes, continue")

    # A mood chosen by button.
    await expect(replies.get_by_role("button", name="Sad")).to_be_visible(timeout=TIMEOUT)
    await expect(log).to_contain_text("How are you feeling right now?")
    await replies.get_by_role("button", name="Sad").click()
    await expect(log).to_contain_text("You: Sad")
    another = replies.get_by_role("button", name="Another feeling")
    await expect(another).to_be_visible(timeout=TIMEOUT)
    await another.click()

    # A feeling typed in the person's own words: the reply comes in two parts,
    # with suggested replies under the second.
    await expect(replies.get_by_role("button", name="Lonely")).to_be_visible(timeout=TIMEOUT)
    bubbles_before = await log.locator(".msg.bot").count()
    await page.get_by_role("textbox", name="Your message").fill("I feel really stressed about work")
    await page.get_by_role("button", name="Send").click()
    await expect(log).to_contain_text("You: I feel really stressed about work")
    await expect(log.locator(".msg.bot")).to_have_count(bubbles_before + 2, timeout=TIMEOUT)
    await expect(log).to_contain_text("Stress can make it feel like everything")
    await expect(log).to_contain_text("A few slow breaths can take the edge off.")
    await expect(replies.get_by_role("button", name="Try breathing")).to_be_visible()
    await expect(replies.get_by_role("button", name="Write it down")).to_be_visible()
    # Only the newest bot message keeps its suggested replies.
    await expect(replies).to_have_count(1)
    await page.screenshot(path=artifacts / "widget-conversation-2-bot.png")

    # Before each bot message the server said it was typing, and the messages
    # are shown in the order of their seq.
    bot_messages = 0
    typed = False
    for frame in frames:
        if frame["type"] == "typing" and frame["from"] == "bot":
            typed = bool(frame["on"])
        elif frame["type"] == "message" and frame["from"] == "bot":
            assert typed, f"bot message {frame['seq']} without typing before it"
            bot_messages += 1
            typed = False
    assert bot_messages >= 6
    shown = await log.locator(".msg[data-seq]").evaluate_all(
        "els => els.map(e => Number(e.dataset.seq))"
    )
    assert shown == list(range(1, len(shown) + 1))

    # Talk to a person: the queue box shows the place in the queue, the wait,
    # and the helplines; leaving the queue ends the chat.
    # Nobody is signed in, so the bot says so and offers to queue anyway.
    await page.get_by_role("button", name="Talk to a person").click()
    wait = replies.get_by_role("button", name="Wait for a counsellor")
    await expect(wait).to_be_visible(timeout=TIMEOUT)
    await expect(log).to_contain_text("none of our counsellors is free right now")
    await wait.click()
    queue = page.get_by_role("region", name="You are in the queue")
    await expect(queue).to_be_visible(timeout=TIMEOUT)
    await expect(queue).to_contain_text(re.compile(r"You are number 1 in the queue\."))
    # Nobody on duty: said plainly, and the other ways to get help open by
    # themselves on a screen with room for them (the server's helplines, with links).
    await expect(queue).to_contain_text("Nobody is on duty right now.")
    more = queue.get_by_role("button", name="Other ways to get help")
    await expect(more).to_have_attribute("aria-expanded", "true")
    await expect(queue).to_contain_text("Counsellors on duty: 0. Free to chat now: 0.")
    call = queue.get_by_role("link", name="Call Samaritans")
    await expect(call).to_have_attribute("href", "tel:116123")
    text = queue.get_by_role("link", name="Text SHOUT")
    await expect(text).to_have_attribute("href", "sms:85258?body=SHOUT")
    await expect(queue.get_by_role("link", name="Call 999")).to_have_attribute("href", "tel:999")
    await expect(page.get_by_text("Waiting for a counsellor")).to_be_visible()
    await page.screenshot(path=artifacts / "widget-conversation-3-queued.png")

    await queue.get_by_role("button", name="Leave the queue").click()
    await expect(page.get_by_text("Chat ended")).to_be_visible(timeout=TIMEOUT)
    await expect(queue).to_be_hidden()
    await expect(page.get_by_role("button", name="Start a new chat")).to_be_focused()
    await expect(page.get_by_role("textbox", name="Your message")).to_be_hidden()
    state = await page.evaluate("HavenWidget.state()")
    assert state["sessionState"] == "closed"
    await page.screenshot(path=artifacts / "widget-conversation-4-left.png")
