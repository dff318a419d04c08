"""axe-core finds nothing serious in the widget, closed, open and queued; it fits 320 px."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import LiveServer
from tests.e2e.support import inject_axe

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

TIMEOUT = 10_000
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => JSON.stringify(n.target)),
  }));
}"""


async def serious_violations(page: Page) -> list[dict[str, object]]:
    violations = await page.evaluate(AXE_RUN)
    return [v for v in violations if v["impact"] in {"serious", "critical"}]


async def consent(page: Page) -> None:
    replies = page.get_by_role("group", name="Suggested replies")
    await replies.get_by_role("button", name="Yes, continue").click(timeout=TIMEOUT)
    await expect(replies.get_by_role("button", name="Calm")).to_be_visible(timeout=TIMEOUT)


async def test_axe_closed_open_and_queued(
    live_server: LiveServer, browser: Browser, axe_source: str, artifacts: Path
) -> None:
    page = await (await browser.new_context(viewport={"width": 1024, "height": 800})).new_page()
    await page.goto(f"{live_server.http}/demo")
    launcher = page.get_by_role("button", name="Chat with us")
    await expect(launcher).to_be_visible()
    await inject_axe(page, axe_source)
    # axe looks inside the widget's open shadow root.
    assert await page.evaluate("axe.utils.getFlattenedTree(document.body).length") > 0

    assert await serious_violations(page) == []
    await page.screenshot(path=artifacts / "widget-a11y-1-closed.png")

    await launcher.click()
    await consent(page)
    assert await serious_violations(page) == []
    await page.screenshot(path=artifacts / "widget-a11y-2-open.png")

    await page.get_by_role("button", name="Talk to a person").click()
    await page.get_by_role("button", name="Wait for a counsellor").click(timeout=TIMEOUT)
    queue = page.get_by_role("region", name="You are in the queue")
    await expect(queue).to_contain_text("You are number 1 in the queue.", timeout=TIMEOUT)
    assert await serious_violations(page) == []
    await page.screenshot(path=artifacts / "widget-a11y-3-queued.png")

    # The scan really covers the widget: a control without a name is reported.
    await page.evaluate(
        "document.querySelector('haven-chat').shadowRoot.querySelector('.panel')"
        ".append(document.createElement('button'))"
    )
    assert "button-name" in [v["id"] for v in await serious_violations(page)]


NO_SIDEWAYS_SCROLL = """() => {
  const root = document.querySelector('haven-chat').shadowRoot;
  // Visually hidden text (.vh) is clipped on purpose.
  const wide = [document.documentElement, ...root.querySelectorAll(':not(.vh)')]
    .filter((e) => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible'
      || e.getBoundingClientRect().right > innerWidth + 1)
    .map((e) => e.tagName + '.' + e.className);
  return {page: document.documentElement.scrollWidth, wide};
}"""


async def test_usable_at_320_px(live_server: LiveServer, browser: Browser, artifacts: Path) -> None:
    page = await (await browser.new_context(viewport={"width": 320, "height": 640})).new_page()
    await page.goto(f"{live_server.http}/demo")
    await page.get_by_role("button", name="Chat with us").click()
    await consent(page)
    box = page.get_by_role("textbox", name="Your message")
    send = page.get_by_role("button", name="Send")
    # A long word with no place to break must wrap, not widen the chat.
    await box.fill("I feel " + "really" * 30 + " tired")
    await send.click()
    await expect(page.get_by_role("button", name="Another feeling")).to_be_visible(timeout=TIMEOUT)

    for control in [
        send,
        box,
        page.get_by_role("button", name="Quick exit"),
        page.get_by_role("button", name="Close chat"),
    ]:
        await expect(control).to_be_in_viewport(ratio=1)
    layout = await page.evaluate(NO_SIDEWAYS_SCROLL)
    assert layout == {"page": 320, "wide": []}
    await page.screenshot(path=artifacts / "widget-320-1-open.png")

    await box.fill("still works")
    await send.click()
    await expect(page.get_by_role("log", name="Conversation")).to_contain_text("You: still works")
    await page.screenshot(path=artifacts / "widget-320-2-sent.png")
