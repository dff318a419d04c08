"""Scripts and HTML in every writable field are inert in a real browser (issue 12, item 9).

Every field carries the payloads of tests/faults/injection.py (written over HTTP and
the sockets as in test_injection.py), and a person in Chromium types more into the
widget and the rating. Every page that shows them, both the HTML the server renders
and what the pages' scripts add from socket frames (the widget's log, the transcript,
the queue, the canned-reply list), is opened in Chromium: no dialog may fire and no
injected element may exist, while the words themselves are shown as plain text.
SQLite only: the database is not what is under test here (test_injection.py is on both).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Dialog, Page, expect
from sqlalchemy import func, select

from counsellor_ui.auth import SESSION_COOKIE
from gateway.models import ChatSession
from tests.conftest import LiveServer
from tests.counsellor_ui.support import Browserless, frames_until
from tests.e2e.support import no_serious_axe_violations
from tests.faults.injection import SHORT, end_and_rate, payload, plant_everywhere
from tests.faults.support import claim, end_chat, services

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

TIMEOUT = 10_000
# Anything the payloads could have turned into, had they been parsed as markup.
INJECTED = (
    "#zqimg, #zqsvg, #zqlink, img[src='x'], svg[onload], [onerror],"
    " a[href^='javascript:' i], iframe[src^='javascript:' i]"
)


@pytest_asyncio.fixture
async def database_url(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[str]:
    path = tmp_path / "haven.db"
    path.write_bytes(sqlite_template.read_bytes())
    yield f"sqlite+aiosqlite:///{path}"


class Watched:
    """Browser contexts whose every page records any dialog that opens."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.dialogs: list[str] = []

    async def _dismiss(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        await dialog.dismiss()

    async def page(self, width: int = 1280, staff: Browserless | None = None) -> Page:
        context: BrowserContext = await self.browser.new_context(
            viewport={"width": width, "height": 900}, bypass_csp=True
        )
        if staff is not None:
            await context.add_cookies(
                [{"name": SESSION_COOKIE, "value": staff.cookie, "url": staff.server.http}]
            )
        page = await context.new_page()
        page.on("dialog", self._dismiss)
        return page


async def inert(page: Page, shown: str) -> None:
    """``shown`` appears as text; nothing was injected; no dialog can be pending."""
    await expect(page.get_by_text(shown).first).to_be_attached(timeout=TIMEOUT)
    assert await page.locator(INJECTED).count() == 0, page.url


async def test_every_field_is_shown_as_text_and_nothing_runs_in_the_browser(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    svc = services(live_server)
    planted = await plant_everywhere(live_server)
    watched = Watched(browser)

    # A person in the widget types payloads and asks for a person.
    person = await watched.page(width=390)
    await person.goto(f"{live_server.http}/demo")
    await person.get_by_role("button", name="Chat with us").click()
    log = person.get_by_role("log", name="Conversation")
    await person.get_by_role("button", name="Yes, continue").click(timeout=TIMEOUT)
    box = person.get_by_role("textbox", name="Your message")
    await box.fill(payload("zq-widget"))
    await box.press("Enter")
    await expect(log).to_contain_text("zq-widget <script>alert(1)</script>", timeout=TIMEOUT)
    await box.fill("I want to talk to a person")
    await box.press("Enter")
    wait = person.get_by_role("button", name="Wait for a counsellor")
    queued = person.get_by_text(re.compile(r"number \d+ in the queue"))
    await expect(wait.or_(queued).first).to_be_visible(timeout=TIMEOUT)
    if await wait.count():
        await wait.click()
    await expect(queued).to_be_visible(timeout=TIMEOUT)
    async with svc.read() as session:
        chat_id = await session.scalar(
            select(func.max(ChatSession.id)).where(ChatSession.state == "queued")
        )
    assert chat_id is not None and chat_id != planted.waiting_id

    # The counsellor whose display name is a payload claims it and answers with one.
    named = planted.named
    await claim(named, chat_id)
    socket = await named.socket(chat_id)
    await frames_until(socket, lambda f: f["type"] == "queue")
    text = payload("zq-answer").replace('"', '\\"')
    await socket.send(f'{{"type": "say", "client_id": "zqa", "text": "{text}"}}')
    await frames_until(socket, lambda f: f.get("client_id") == "zqa")
    await socket.close()
    await expect(log).to_contain_text("zq-answer <script>alert(1)</script>", timeout=TIMEOUT)
    await expect(log).to_contain_text(SHORT)  # the display name, as written
    await inert(person, "zq-widget")
    await person.screenshot(path=artifacts / "faults-injection-widget.png")
    await no_serious_axe_violations(person, axe_source)

    # Every staff page, as rendered and as its scripts fill it from socket frames.
    sam = await watched.page(staff=planted.sam)
    await sam.goto(f"{live_server.http}/counsellor/sessions/{planted.chat_id}")
    transcript = sam.get_by_role("log", name="Transcript")
    await expect(transcript).to_contain_text("zq-said <script>alert(1)</script>")
    await expect(transcript).to_contain_text("zq-staffsaid")
    await inert(sam, "zq-whisper")
    await inert(sam, "zq-hand")
    message = sam.get_by_label("Your message")
    await message.fill("/zq")
    await expect(sam.get_by_role("option").first).to_contain_text("zq-ctitle")
    await inert(sam, "zq-ctitle")
    await sam.screenshot(path=artifacts / "faults-injection-workspace.png")
    await no_serious_axe_violations(sam, axe_source)
    await message.fill("")
    await sam.goto(f"{live_server.http}/counsellor/")
    await inert(sam, "zq-queued")  # the waiting person's preview in the live queue

    mine = await watched.page(staff=named)
    await mine.goto(f"{live_server.http}/counsellor/sessions/{chat_id}")
    await inert(mine, "zq-widget")
    await inert(mine, "zq-answer")

    lead = await watched.page(staff=planted.lead)
    for path, shown in (
        (f"/counsellor/sessions/{planted.chat_id}/watch", "zq-note"),
        ("/counsellor/supervisor/live", SHORT),
        ("/counsellor/canned", "zq-cbody"),
        ("/counsellor/?notice=" + payload("zq-notice").replace("#", "%23"), "zq-notice"),
    ):
        await lead.goto(live_server.http + path)
        await inert(lead, shown)
    admin = await watched.page(staff=planted.admin)
    await admin.goto(f"{live_server.http}/counsellor/staff")
    await inert(admin, "zq-formname")
    await lead.goto(f"{live_server.http}/counsellor/sessions/{planted.chat_id}/watch")
    await lead.screenshot(path=artifacts / "faults-injection-watch.png")

    # The chat ends; the person rates it with more payloads; the supervisor reads it.
    await end_chat(named, chat_id, payload("zq-wrapup"))
    question = person.get_by_role("group", name="How did this chat feel for you?")
    await question.get_by_role("radio", name="Good", exact=True).check(timeout=TIMEOUT)
    await person.get_by_label("Anything you would like to add? (optional)").fill(
        payload("zq-rated")
    )
    await person.get_by_role("button", name="Send answer").click()
    await expect(person.get_by_text("Thank you for telling us.")).to_be_visible(timeout=TIMEOUT)
    await inert(person, "zq-answer")
    await end_and_rate(live_server, planted)
    await lead.goto(f"{live_server.http}/counsellor/supervisor")
    await inert(lead, "zq-rated")
    await inert(lead, "zq-rating")
    await lead.screenshot(path=artifacts / "faults-injection-supervisor.png")
    await no_serious_axe_violations(lead, axe_source)
    assert watched.dialogs == []
    await planted.person.close()
    await planted.waiting.close()
