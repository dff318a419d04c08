"""Tried as a new user would: a conversation erased from the widget is gone from the files.

A person opens the demo page, agrees, writes a message carrying a marker found
nowhere else, and a counsellor answers quoting it; then the person presses
"Delete my conversation" and confirms. The raw bytes of the SQLite database, its
write-ahead log and its shared-memory file hold the marker before and not after.
Then an admin erases another chat by its number from the workspace. Screenshots
in ``test-artifacts/``; axe-core on each page.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from gateway.actions.messages import post_counsellor_message
from gateway.actions.queue import claim_session
from gateway.actions.sessions import start_session
from gateway.models import ChatSession
from gateway.scrub import sqlite_path
from gateway.services import Services
from gateway.types import StaffRole
from tests.conftest import LiveServer
from tests.counsellor_ui.support import use_quick_setup
from tests.e2e.support import no_serious_axe_violations
from tests.factories import PASSWORD, make_staff

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]
TIMEOUT = 15_000


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


def files_holding(server: LiveServer, marker: str) -> list[str]:
    path = sqlite_path(server.settings.effective_database_url)
    assert path is not None
    needle = marker.encode()
    found = []
    for suffix in ("", "-wal", "-shm"):
        file = Path(path + suffix)
        if file.exists() and needle in file.read_bytes():
            found.append(file.name)
    return found


async def widget(browser: Browser, server: LiveServer) -> Page:
    context = await browser.new_context(viewport={"width": 420, "height": 860}, bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{server.http}/demo")
    await page.get_by_role("button", name="Chat with us").click()
    log = page.get_by_role("log", name="Conversation")
    await expect(log).to_contain_text("Is that okay with you?", timeout=TIMEOUT)
    await page.get_by_role("button", name="Yes, continue").click()
    return page


async def test_a_conversation_deleted_from_the_widget_leaves_the_database_files(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    marker = f"pelican{uuid.uuid4().hex[:12]}"
    page = await widget(browser, live_server)
    log = page.get_by_role("log", name="Conversation")
    box = page.get_by_role("textbox", name="Your message")
    await box.fill(f"I want to talk to a person about {marker}")
    await page.get_by_role("button", name="Send").click()
    await expect(log).to_contain_text(marker, timeout=TIMEOUT)
    # Nobody is signed in, so the bot offers to wait: the person chooses to.
    await page.get_by_role("button", name="Wait for a counsellor").click()
    session_id = await queued_session(svc)
    sam = await make_staff(svc, name="Sam")
    assert (await claim_session(svc, session_id=session_id, staff_id=sam.id)).won
    await post_counsellor_message(
        svc, session_id=session_id, staff=sam, client_id="c1", text=f"You said {marker}."
    )
    await expect(log).to_contain_text(f"You said {marker}.", timeout=TIMEOUT)
    await page.screenshot(path=artifacts / "widget-erase-1-before.png")
    assert files_holding(live_server, marker) != []

    await page.get_by_role("button", name="Delete my conversation").click()
    await page.get_by_role("button", name="Yes, delete it").click()
    await expect(log).to_contain_text("Your conversation has been deleted.", timeout=TIMEOUT)
    await expect(log).not_to_contain_text(marker)
    await page.screenshot(path=artifacts / "widget-erase-2-deleted.png")
    await no_serious_axe_violations(page, axe_source)

    assert files_holding(live_server, marker) == []


async def queued_session(svc: Services) -> int:
    """The one session waiting in the queue, once it is there."""
    for _ in range(300):
        async with svc.read() as session:
            found = list(
                (
                    await session.execute(
                        select(ChatSession.id).where(ChatSession.state == "queued")
                    )
                ).scalars()
            )
        if found:
            assert len(found) == 1
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError("the person never reached the queue")


async def test_an_admin_erases_a_chat_by_its_number(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    ada = await make_staff(svc, name="Ada", role=StaffRole.ADMIN, available=False)
    chat, _token = await start_session(svc, locale="en")
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{live_server.http}/counsellor/")
    await page.get_by_label("Username").fill(ada.username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("link", name="Erase a conversation").click()
    await page.get_by_label("Chat number").fill(str(chat.id + 500))
    await page.get_by_role("button", name="Find the chat").click()
    await expect(page.get_by_role("alert")).to_contain_text(f"There is no chat {chat.id + 500}")
    await page.screenshot(path=artifacts / "admin-erase-1-no-such-chat.png", full_page=True)
    await no_serious_axe_violations(page, axe_source)

    await page.get_by_label("Chat number").fill(str(chat.id))
    await page.get_by_role("button", name="Find the chat").click()
    erase = page.get_by_role("button", name=f"Erase chat {chat.id}")
    await expect(erase).to_be_visible()
    await page.screenshot(path=artifacts / "admin-erase-2-confirm.png", full_page=True)
    await no_serious_axe_violations(page, axe_source)
    await erase.click()
    await expect(page.get_by_role("status")).to_contain_text(f"Chat {chat.id} is erased")
    await page.screenshot(path=artifacts / "admin-erase-3-done.png", full_page=True)
