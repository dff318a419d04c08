"""The real widget in Chromium under HAVEN_CHALLENGE=always: it answers the proof of
work with crypto.subtle and the chat starts as usual; a second new chat from the same
address within the limit's minute is refused in plain words, and nothing is stored for
it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, WebSocket, expect

from gateway.settings import Settings
from tests.conftest import LiveServer, make_settings
from tests.e2e.support import no_serious_axe_violations
from tests.e2e.test_chat_workspace import PHONE, TIMEOUT
from tests.gateway.abuse_support import with_limits
from tests.gateway.test_protocol_support import all_sessions

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]
BITS = 12  # a few thousand hashes: quick here, and the same code as the default 16


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    limits = with_limits(
        challenge="always", challenge_difficulty=BITS, limit_sessions_per_address="1/minute"
    )
    return make_settings(database_url, tmp_path, **limits)


def frames_of(page_ws: WebSocket, into: list[dict[str, Any]]) -> None:
    page_ws.on("framereceived", lambda payload: into.append(json.loads(payload)))
    page_ws.on("framesent", lambda payload: into.append({"sent": json.loads(payload)}))


async def test_the_widget_answers_the_challenge_and_a_refusal_is_plain(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    context = await browser.new_context(viewport=PHONE, bypass_csp=True)
    page = await context.new_page()
    frames: list[dict[str, Any]] = []
    page.on("websocket", lambda ws: frames_of(ws, frames))
    await page.goto(f"{live_server.http}/demo")
    await page.get_by_role("button", name="Chat with us").click()
    await expect(page.get_by_role("button", name="Yes, continue")).to_be_visible(timeout=TIMEOUT)
    kinds = [f.get("type") or "sent:" + f["sent"]["type"] for f in frames]
    assert kinds[:4] == ["sent:hello", "challenge", "sent:hello", "welcome"], kinds
    proof = frames[2]["sent"]["proof"]
    assert proof["salt"] == frames[1]["salt"]
    await page.screenshot(path=str(artifacts / "challenge-answered.png"))
    await no_serious_axe_violations(page, axe_source)
    assert len(await all_sessions(live_server.settings.database_url)) == 1

    # Another new chat from the same address within the minute: refused, in plain words.
    other = await browser.new_context(viewport=PHONE, bypass_csp=True)
    second = await other.new_page()
    await second.goto(f"{live_server.http}/demo")
    await second.get_by_role("button", name="Chat with us").click()
    await expect(
        second.get_by_text("A lot of new chats have started from your connection just now")
    ).to_be_visible(timeout=TIMEOUT)
    await second.screenshot(path=str(artifacts / "challenge-refused.png"))
    await no_serious_axe_violations(second, axe_source)
    assert len(await all_sessions(live_server.settings.database_url)) == 1
    await other.close()
    await context.close()
