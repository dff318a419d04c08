"""The chat workspace in a real browser: two people, two counsellors, one supervisor.

Sam claims two chats and works both in one page at 1366x768 (tabs, unread
counts, a page that does not scroll, canned responses after "/"); one person
leaves and the other deletes their conversation, and Sam's page says so live;
Jo, who holds neither chat, still sees only who has it. A supervisor keeps the
canned responses and their shortcuts in a compact list.
Screenshots go to ``test-artifacts/`` and into the counsellor guide.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from gateway.actions.canned import save_canned
from gateway.services import Services
from gateway.types import StaffRole
from tests.conftest import LiveServer
from tests.counsellor_ui.support import use_quick_setup
from tests.e2e.support import no_serious_axe_violations
from tests.factories import PASSWORD, make_staff

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

TIMEOUT = 10_000
LAPTOP: ViewportSize = {"width": 1366, "height": 768}
PHONE: ViewportSize = {"width": 390, "height": 844}
NO_PAGE_SCROLL = "document.scrollingElement.scrollHeight <= window.innerHeight"


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def staff_page(
    browser: Browser, server: LiveServer, username: str
) -> tuple[BrowserContext, Page]:
    # The CSP is bypassed only so that axe-core can be injected for the checks.
    context = await browser.new_context(viewport=LAPTOP, bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{server.http}/counsellor/")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name=re.compile("Waiting"))).to_be_visible()
    return context, page


async def person_in_queue(
    browser: Browser, server: LiveServer, words: str
) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(viewport=PHONE)
    person = await context.new_page()
    await person.goto(f"{server.http}/demo")
    await person.get_by_role("button", name="Chat with us").click()
    await person.get_by_role("button", name="Yes, continue").click()
    box = person.get_by_role("textbox", name="Your message")
    await box.fill(words)
    await person.get_by_role("button", name="Send").click()
    await box.fill("I want to talk to a person")
    await person.get_by_role("button", name="Send").click()
    await expect(person.get_by_text(re.compile(r"number \d in the queue"))).to_be_visible(
        timeout=TIMEOUT
    )
    return context, person


async def say(person: Page, text: str) -> None:
    await person.get_by_role("textbox", name="Your message").fill(text)
    await person.get_by_role("button", name="Send").click()


async def test_two_chats_in_one_workspace_then_one_leaves_and_one_deletes(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    sam = await make_staff(svc, name="Sam")
    jo = await make_staff(svc, name="Jo", available=False)
    lead = await make_staff(svc, name="Lead", role=StaffRole.SUPERVISOR, available=False)
    for shortcut, title, body in (
        ("wait-thanks", "Thank you for waiting", "Thank you for waiting. I'm here now."),
        ("safe-now", "Are you safe right now?", "Are you safe at the moment?"),
        ("take-time", "Take your time", "Take your time, there's no rush."),
    ):
        await save_canned(svc, staff=lead, title=title, body=body, shortcut=shortcut)
    sam_ctx, sam_page = await staff_page(browser, live_server, sam.username)
    jo_ctx, jo_page = await staff_page(browser, live_server, jo.username)
    first_ctx, first = await person_in_queue(browser, live_server, "My exams are going badly")
    second_ctx, second = await person_in_queue(browser, live_server, "Things at home are hard")

    # Sam claims one chat, goes back to the queue, claims the other: one page, two tabs.
    await expect(sam_page.get_by_role("button", name="Claim")).to_have_count(2, timeout=TIMEOUT)
    await sam_page.get_by_role("button", name="Claim").first.click()
    tabs = sam_page.get_by_role("tab")
    await expect(tabs).to_have_count(1)
    first_chat = await tabs.first.get_attribute("data-session")
    await sam_page.get_by_role("link", name="Back to the queue").click()
    await sam_page.get_by_role("button", name="Claim").click()
    await expect(tabs).to_have_count(2)
    first_tab = sam_page.get_by_role("tab", name=re.compile(f"^Chat {first_chat} "))
    second_tab = tabs.nth(1)
    second_chat = await second_tab.get_attribute("data-session")
    await expect(second_tab).to_have_attribute("aria-selected", "true")
    await expect(sam_page).to_have_url(re.compile(f"/counsellor/sessions/{second_chat}$"))
    transcript = sam_page.get_by_role("log", name="Transcript")  # only the shown tab's
    await expect(transcript).to_contain_text("Things at home are hard")
    await expect(second.get_by_text("Sam has joined the chat.")).to_be_visible(timeout=TIMEOUT)
    assert await sam_page.evaluate(NO_PAGE_SCROLL)

    # The person in the other chat writes: its tab counts it, and opening it clears the count.
    await say(first, "Are you still there?")
    await expect(first_tab).to_contain_text("1 unread message", timeout=TIMEOUT)
    await expect(sam_page).to_have_title(re.compile(r"^\(1\) Chat"))
    await say(first, "I can't sleep before exams")
    await expect(first_tab).to_contain_text("2 unread messages", timeout=TIMEOUT)
    await sam_page.screenshot(path=str(artifacts / "chat-workspace-1-two-tabs-unread.png"))
    await second_tab.focus()
    await sam_page.keyboard.press("ArrowLeft")  # the tablist's arrow keys
    await expect(first_tab).to_have_attribute("aria-selected", "true")
    await expect(first_tab).to_be_focused()
    await expect(first_tab.locator("[data-role=unread]")).to_be_hidden()
    await expect(transcript).to_contain_text("I can't sleep before exams")
    assert await sam_page.evaluate(NO_PAGE_SCROLL)

    # "/" offers the canned responses, none chosen until the arrow keys choose one.
    compose = sam_page.get_by_role("combobox", name="Your message")
    await compose.press_sequentially("I'm here. /")
    listbox = sam_page.get_by_role("listbox", name="Canned responses")
    await expect(listbox.get_by_role("option")).to_have_count(3)
    await expect(compose).to_have_attribute("aria-expanded", "true")
    await expect(listbox.locator("[aria-selected=true]")).to_have_count(0)
    assert await compose.get_attribute("aria-activedescendant") is None
    await compose.press_sequentially("sa")
    await expect(listbox.get_by_role("option")).to_have_count(1)
    await compose.press("ArrowDown")
    await expect(listbox.get_by_role("option", name=re.compile("Are you safe"))).to_have_attribute(
        "aria-selected", "true"
    )
    await sam_page.screenshot(path=str(artifacts / "chat-workspace-2-canned.png"))
    await compose.press("Enter")  # inserts, never sends
    await expect(listbox).to_be_hidden()
    await expect(compose).to_have_value("I'm here. Are you safe at the moment?")
    await expect(compose).to_have_attribute("aria-expanded", "false")
    await expect(transcript).not_to_contain_text("Are you safe")
    await compose.press_sequentially(" /ta")
    await expect(listbox).to_be_visible()
    await compose.press("Escape")
    await expect(listbox).to_be_hidden()
    await compose.press("Backspace")
    await compose.press("Backspace")
    await compose.press("Backspace")
    await compose.press("Enter")
    await expect(first.get_by_text("I'm here. Are you safe at the moment?")).to_be_visible(
        timeout=TIMEOUT
    )
    await no_serious_axe_violations(sam_page, axe_source)

    # Jo holds neither chat: its address shows who has it, as before.
    await jo_page.goto(f"{live_server.http}/counsellor/sessions/{first_chat}")
    await expect(jo_page.get_by_role("heading", name="This chat is not yours")).to_be_visible()

    # The first person leaves: Sam's page says so at once, with the wrap-up and no message box.
    await first.get_by_role("button", name="End chat").click()
    await first.get_by_role("button", name="Yes, end it").click()
    panel = sam_page.get_by_role("tabpanel")
    await expect(panel.get_by_text("They have left.")).to_be_visible(timeout=TIMEOUT)
    await expect(panel.get_by_role("button", name="Write the wrap-up")).to_be_visible()
    await expect(panel.get_by_role("combobox", name="Your message")).to_have_count(0)
    await expect(panel.get_by_role("button", name="Release")).to_be_hidden()
    await expect(first_tab).to_contain_text("left")
    assert await sam_page.evaluate(NO_PAGE_SCROLL)
    await sam_page.screenshot(path=str(artifacts / "chat-workspace-3-person-left.png"))

    # The second person deletes their conversation while Sam is in the other tab.
    await second.get_by_role("button", name="Delete my conversation").click()
    await second.get_by_role("button", name="Yes, delete it").click()
    await expect(second.get_by_text("Your conversation has been deleted.")).to_be_visible(
        timeout=TIMEOUT
    )
    await expect(second_tab).to_contain_text("deleted", timeout=TIMEOUT)
    await second_tab.click()
    await expect(panel.get_by_text("The person deleted this conversation.").first).to_be_visible()
    await expect(transcript).not_to_contain_text("Things at home are hard")
    await expect(panel.get_by_role("region", name="Private notes")).to_be_hidden()
    await sam_page.screenshot(path=str(artifacts / "chat-workspace-4-person-deleted.png"))
    await no_serious_axe_violations(sam_page, axe_source)

    # The wrap-up of a deleted chat keeps outcomes and risk, and has no notes box.
    await panel.get_by_role("button", name="Write the wrap-up").click()
    await expect(sam_page.get_by_text("The person deleted this conversation.")).to_be_visible()
    await expect(sam_page.get_by_label("Notes")).to_have_count(0)
    await sam_page.get_by_label("Listened and supported").check()
    await sam_page.get_by_label("Low").check()
    await sam_page.screenshot(path=str(artifacts / "chat-workspace-5-wrap-up-deleted.png"))
    await sam_page.get_by_role("button", name="Save wrap-up").click()
    await expect(sam_page.get_by_text(f"Wrap-up for chat {second_chat} saved.")).to_be_visible()
    for context in (first_ctx, second_ctx, sam_ctx, jo_ctx):
        await context.close()


async def test_a_supervisor_keeps_canned_responses_with_shortcuts(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    lead = await make_staff(svc, name="Alex", role=StaffRole.SUPERVISOR, available=False)
    await save_canned(
        svc,
        staff=lead,
        title="Thank you for waiting",
        body="Thank you for waiting.",
        shortcut="wait-thanks",
    )
    await save_canned(svc, staff=lead, title="Take your time", body="Take your time, no rush.")
    context, page = await staff_page(browser, live_server, lead.username)
    await page.get_by_role("link", name="Canned responses").click()
    await page.get_by_text("Add a response").click()
    add = page.locator("details.canned-add")
    await add.get_by_label("Title").fill("Breathing together")
    await add.get_by_label("Shortcut").fill("breathe")
    await add.get_by_label("Text").fill("Would it help to breathe together for a moment?")
    await page.get_by_role("button", name="Add response").click()
    await expect(page.get_by_role("status")).to_have_text("Saved.")
    rows = page.locator(".canned-rows > li")
    await expect(rows).to_have_count(3)
    await expect(rows.filter(has_text="Breathing together")).to_contain_text("/breathe")

    # Edit in place: a shortcut already used is refused and says by what.
    row = rows.filter(has_text="Take your time")
    await row.get_by_text("Edit").click()
    await row.get_by_label("Shortcut").fill("wait-thanks")
    await row.get_by_role("button", name=re.compile("^Save changes")).click()
    await expect(page.get_by_role("alert")).to_contain_text("/wait-thanks is already used by")
    row = rows.filter(has_text="Take your time")  # still open, with what was typed
    await expect(row.get_by_label("Shortcut")).to_have_value("wait-thanks")
    await row.get_by_label("Shortcut").fill("take-time")
    await page.screenshot(path=str(artifacts / "chat-workspace-6-canned-list.png"), full_page=True)
    await row.get_by_role("button", name=re.compile("^Save changes")).click()
    await expect(rows.filter(has_text="Take your time")).to_contain_text("/take-time")
    await no_serious_axe_violations(page, axe_source)
    await context.close()
