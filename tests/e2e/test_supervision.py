"""A supervisor's live board and stepping in, in a real browser.

Alex (supervisor) keeps the supervisor view open while a person arrives and
Sam claims the chat: the board changes without a reload. Alex watches the
chat, sees the person's new words arrive, whispers to Sam (Sam sees it, the
person never does), then takes the chat over; the person is told in plain
words and Sam's page says the chat is now with Alex.
Screenshots go to ``test-artifacts/`` and into the counsellor guide.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from gateway.services import Services
from gateway.types import StaffRole
from tests.conftest import LiveServer
from tests.counsellor_ui.support import use_quick_setup
from tests.e2e.support import no_serious_axe_violations
from tests.e2e.test_chat_workspace import person_in_queue, say, staff_page
from tests.factories import make_staff

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

TIMEOUT = 10_000
WHISPER = "Ask whether she is safe tonight before anything else."


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def test_the_board_follows_a_chat_and_a_supervisor_whispers_then_takes_over(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    alex = await make_staff(svc, name="Alex", role=StaffRole.SUPERVISOR, available=False)
    sam = await make_staff(svc, name="Sam")
    _, desk = await staff_page(browser, live_server, sam.username)
    _, lead = await staff_page(browser, live_server, alex.username)
    await lead.get_by_role("link", name="Supervisor view").click()
    board = lead.locator("#live")
    waiting = board.get_by_role("table", name="Waiting now, in queue order")
    chats = board.get_by_role("table", name="Live chats")
    await expect(waiting).to_contain_text("Nobody is waiting.")
    await expect(board.get_by_role("table", name="On duty")).to_contain_text("0 of")
    await no_serious_axe_violations(lead, axe_source)

    # A person arrives: the board shows them without a reload.
    _, person = await person_in_queue(browser, live_server, "I've had a really hard week")
    await expect(waiting).to_contain_text("asked for a person", timeout=TIMEOUT)
    await expect(board.locator("#queue-length")).to_have_text("1")
    # Told to a screen reader once, as the number changes (not at every redraw).
    await expect(lead.locator("#live-news")).to_have_text("1 waiting.")

    await lead.screenshot(path=str(artifacts / "supervision-0-arrival.png"))
    # Sam claims; the chat moves to "Live chats" and the person's words await a reply.
    await desk.get_by_role("button", name="Claim").click()
    transcript = desk.get_by_role("log", name="Transcript")
    await expect(transcript).to_contain_text("I've had a really hard week")
    await expect(waiting).to_contain_text("Nobody is waiting.", timeout=TIMEOUT)
    await expect(chats).to_contain_text("Sam", timeout=TIMEOUT)
    await say(person, "are you there?")
    await expect(chats).to_contain_text("(awaiting reply)", timeout=TIMEOUT)
    await expect(board.get_by_role("table", name="On duty")).to_contain_text("1 of")
    await lead.screenshot(path=str(artifacts / "supervision-1-board.png"), full_page=True)
    await no_serious_axe_violations(lead, axe_source)

    # Alex watches: the transcript so far, then the person's next words live.
    await chats.get_by_role("link", name=re.compile(r"^Watch")).click()
    await expect(lead.get_by_role("heading", name=re.compile(r"^Watching chat"))).to_be_visible()
    watched = lead.get_by_role("log", name="Transcript")
    await expect(watched).to_contain_text("are you there?")
    await say(person, "I don't know what to do")
    await expect(watched).to_contain_text("I don't know what to do", timeout=TIMEOUT)
    await no_serious_axe_violations(lead, axe_source)
    await lead.screenshot(path=str(artifacts / "supervision-2-watch.png"))

    # A whisper: on Sam's page, marked private; never on the person's screen.
    await lead.get_by_label("Private message to Sam").fill(WHISPER)
    await lead.get_by_role("button", name="Send privately").click()
    await expect(lead.get_by_role("status")).to_contain_text("Sent to Sam privately")
    await expect(transcript).to_contain_text(
        "Staff only, never shown to the person: from Alex", timeout=TIMEOUT
    )
    await expect(transcript.locator(".whisper")).to_contain_text(WHISPER)
    await desk.screenshot(path=str(artifacts / "supervision-3-whisper.png"))
    await no_serious_axe_violations(desk, axe_source)

    # Alex joins: the person is told, Alex writes from the watch page, Sam stays and sees it.
    widget = person.get_by_role("log", name="Conversation")
    await lead.get_by_role("button", name="Join the chat").click()
    joined = "Alex, a supervisor, has joined the chat to help."
    await expect(widget).to_contain_text(joined, timeout=TIMEOUT)
    await lead.get_by_label("Your message to the person").fill("I'm Alex, working with Sam.")
    await lead.get_by_role("button", name="Send", exact=True).click()
    await expect(watched.get_by_text("Delivered")).to_be_visible(timeout=TIMEOUT)
    await expect(widget).to_contain_text("I'm Alex, working with Sam.", timeout=TIMEOUT)
    # Sam still holds the chat: the person is chatting with Sam, joined by Alex.
    state_line = person.locator("p.state")
    await expect(state_line).to_have_text("Chatting with Sam")
    await expect(transcript).to_contain_text("I'm Alex, working with Sam.", timeout=TIMEOUT)
    await lead.screenshot(path=str(artifacts / "supervision-4-joined.png"))

    # Alex takes over: the chat becomes Alex's; the person and Sam are told.
    await lead.get_by_role("button", name="Take over").click()
    await expect(lead.get_by_role("status")).to_contain_text("The chat is yours now")
    told = "Alex, a supervisor, is taking over from Sam."
    await expect(lead.get_by_role("log", name="Transcript")).to_contain_text(told)
    await expect(widget).to_contain_text(told, timeout=TIMEOUT)
    await expect(state_line).to_have_text("Chatting with Alex", timeout=TIMEOUT)
    await expect(desk.get_by_text("This chat is now with Alex.")).to_be_visible(timeout=TIMEOUT)
    await lead.get_by_role("textbox", name="Your message").fill("Hello, I'm Alex. I'm here.")
    await lead.get_by_role("button", name="Send").click()
    await expect(widget).to_contain_text("Hello, I'm Alex. I'm here.", timeout=TIMEOUT)
    await expect(widget).not_to_contain_text(WHISPER)
    assert WHISPER not in await person.content()
    await person.screenshot(path=str(artifacts / "supervision-5-person.png"))
    await desk.screenshot(path=str(artifacts / "supervision-6-counsellor-after.png"))
