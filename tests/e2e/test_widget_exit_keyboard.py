"""Quick exit (button and Escape three times) and using the widget with the keyboard alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, Route, WebSocket, expect

from tests.conftest import LiveServer
from tests.e2e.support import wait_for_expression

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

TIMEOUT = 10_000
EXIT_URL = "https://www.bbc.co.uk/weather"
FOCUSED = """() => {
  const host = document.querySelector('haven-chat');
  const el = host && host.shadowRoot.activeElement;
  return el ? (el.getAttribute('aria-label') || el.textContent) : null;
}"""


async def demo_page(browser: Browser, server: LiveServer) -> tuple[Page, list[dict[str, object]]]:
    """The demo page; the exit site answered locally; frames the widget sends."""
    page = await (await browser.new_context(viewport={"width": 1024, "height": 800})).new_page()
    sent: list[dict[str, object]] = []

    def on_socket(ws: WebSocket) -> None:
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)))

    async def neutral(route: Route) -> None:
        await route.fulfill(content_type="text/html", body="<title>Weather</title><p>Sunny")

    page.on("websocket", on_socket)
    await page.route("https://www.bbc.co.uk/**", neutral)
    await page.goto(f"{server.http}/demo")
    return page, sent


async def start_chat(page: Page) -> None:
    await page.get_by_role("button", name="Chat with us").click()
    replies = page.get_by_role("group", name="Suggested replies")
    await replies.get_by_role("button", name="Yes, continue").click(timeout=TIMEOUT)
    await expect(page.get_by_role("log", name="Conversation")).to_contain_text(
        "How are you feeling right now?", timeout=TIMEOUT
    )
    keys = await page.evaluate("Object.keys(sessionStorage)")
    assert {"haven-widget:token", "haven-widget:last_seq", "haven-widget:open"} <= set(keys)


async def assert_exited(page: Page, sent: list[dict[str, object]], server: LiveServer) -> None:
    await page.wait_for_url(EXIT_URL, timeout=TIMEOUT)
    assert {"type": "leave"} in sent
    # The tab's storage for the charity's site holds nothing of the widget.
    await page.goto(f"{server.http}/demo")
    keys = await page.evaluate("Object.keys(sessionStorage)")
    assert [k for k in keys if k.startswith("haven-widget:")] == []
    await expect(page.get_by_role("button", name="Chat with us")).to_be_visible()


async def test_quick_exit_button(
    live_server: LiveServer, browser: Browser, artifacts: Path
) -> None:
    page, sent = await demo_page(browser, live_server)
    await start_chat(page)
    await page.screenshot(path=artifacts / "widget-exit-1-before.png")
    await page.get_by_role("button", name="Quick exit").click()
    await assert_exited(page, sent, live_server)


async def test_quick_exit_escape_three_times(live_server: LiveServer, browser: Browser) -> None:
    page, sent = await demo_page(browser, live_server)
    await start_chat(page)
    # The first press closes the panel; the next two, anywhere on the page, leave.
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog", name="Talk to us")).to_be_hidden()
    await page.keyboard.press("Escape")
    await page.keyboard.press("Escape")
    await assert_exited(page, sent, live_server)


async def focused(page: Page) -> str | None:
    return await page.evaluate(FOCUSED)


async def tab_to(page: Page, name: str, key: str = "Tab", limit: int = 30) -> None:
    for _ in range(limit):
        if await focused(page) == name:
            return
        await page.keyboard.press(key)
    raise AssertionError(f"{key} never reached {name!r}; focus is on {await focused(page)!r}")


async def test_keyboard_only(live_server: LiveServer, browser: Browser, artifacts: Path) -> None:
    page, _ = await demo_page(browser, live_server)
    log = page.get_by_role("log", name="Conversation")
    box = page.get_by_role("textbox", name="Your message")

    # Tab from the top of the page reaches the launcher; Enter opens the chat
    # and puts the cursor in the message box.
    await tab_to(page, "Chat with us")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("dialog", name="Talk to us")).to_be_visible()
    await expect(box).to_be_focused()

    # The suggested replies are reached with the keyboard and work with Enter.
    await expect(page.get_by_role("button", name="Yes, continue")).to_be_visible(timeout=TIMEOUT)
    await tab_to(page, "Yes, continue", "Shift+Tab")
    await page.keyboard.press("Enter")
    await expect(log).to_contain_text("You: Yes, continue")
    await expect(box).to_be_focused()

    # ... and with Space.
    await expect(page.get_by_role("button", name="Calm")).to_be_visible(timeout=TIMEOUT)
    await tab_to(page, "Calm", "Shift+Tab")
    await page.keyboard.press("Space")
    await expect(log).to_contain_text("You: Calm")
    await expect(box).to_be_focused()

    # Typing and Enter sends; Shift+Enter is a new line, not a send.
    await expect(page.get_by_role("button", name="Another feeling")).to_be_visible(timeout=TIMEOUT)
    await page.keyboard.type("thank you")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("it is nice to talk")
    await expect(box).to_have_value("thank you\nit is nice to talk")
    await page.keyboard.press("Enter")
    await expect(log).to_contain_text("it is nice to talk")
    await expect(box).to_have_value("")
    await wait_for_expression(page, "HavenWidget.state().outbox === 0", TIMEOUT / 1000)
    await page.screenshot(path=artifacts / "widget-keyboard-1-open.png")

    # Every control in the panel is reached with Tab, in a sensible order.
    await tab_to(page, "Quick exit", "Shift+Tab")
    order = []
    while (name := await focused(page)) is not None and len(order) < 30:
        order.append(name)
        await page.keyboard.press("Tab")
    for name in ["Close chat", "Conversation", "Another feeling", "Send", "End chat"]:
        assert name in order, order
    assert order.index("Conversation") < order.index("Another feeling") < order.index("Send")

    # Escape closes the panel and gives focus back to the launcher.
    await box.focus()
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog", name="Talk to us")).to_be_hidden()
    await expect(page.get_by_role("button", name="Chat with us")).to_be_focused()
    assert await focused(page) == "Chat with us"
    await page.screenshot(path=artifacts / "widget-keyboard-2-closed.png")
