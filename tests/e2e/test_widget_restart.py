"""The server dies (SIGKILL) mid-conversation and comes back: nothing lost, nothing twice.

The gateway runs as its own process here so that it can be killed and started
again on the same port and database, as a crash and a restart would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from tests.e2e.support import wait_for_expression
from tests.gateway.test_protocol_support import chat_row
from tests.services import free_port, port_open

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

TIMEOUT = 10_000
ROOT = Path(__file__).resolve().parents[2]


class GatewayProcess:
    """uvicorn in a child process, on a fixed port and database."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.port = free_port()
        self.http = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "gateway.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")},
            "HAVEN_ENV": "development",
            "HAVEN_DATABASE_URL": database_url,
            "HAVEN_DATA_DIR": str(data_dir),
            "HAVEN_PUBLIC_URL": self.http,
            "HAVEN_BOT_TYPING_CPS": "0",
            "HAVEN_BOT_TYPING_MIN_S": "0",
            "HAVEN_BOT_TYPING_MAX_S": "0",
        }
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "uvicorn",
                "gateway.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--ws-per-message-deflate",
                "false",
                "--log-level",
                "warning",
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=out,
            )
        # Until it listens: seconds alone, far longer beside parallel test workers.
        deadline = asyncio.get_running_loop().time() + 60
        while asyncio.get_running_loop().time() < deadline:
            if port_open("127.0.0.1", self.port):
                return
            if self.proc.returncode is not None:
                break
            await asyncio.sleep(0.05)
        raise RuntimeError(f"gateway did not start:\n{self.log.read_text()}")

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()
        self.proc = None


@pytest_asyncio.fixture
async def gateway(database_url: str, tmp_path: Path) -> AsyncIterator[GatewayProcess]:
    server = GatewayProcess(database_url, tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.kill()


async def state(page: Page) -> dict[str, object]:
    return await page.evaluate("HavenWidget.state()")


async def wait_until(page: Page, condition: str) -> None:
    await wait_for_expression(page, condition, 30)


async def settled(page: Page, database_url: str, answered: int) -> int:
    """The last seq, once the bot's whole answer to the message ``answered`` is shown.

    The bot answers a message with a turn of several replies, delivered one after
    the other, so "a reply has appeared" is not "the replies have stopped". Wait
    until the stored transcript has gone past ``answered`` (the bot has answered),
    the widget shows everything stored, and both stay so on two reads in a row.
    """
    token = await page.evaluate("sessionStorage.getItem('haven-widget:token')")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    seen: tuple[int, object] | None = None
    while True:
        stored = (await chat_row(database_url, token)).last_seq
        now = (stored, (await state(page))["lastSeq"])
        if stored > answered and now[1] == stored and now == seen:
            return stored
        assert loop.time() < deadline, f"not settled after seq {answered}: (stored, shown) {now}"
        seen = now
        await asyncio.sleep(0.2)


async def check_transcript(page: Page, typed: list[str]) -> list[int]:
    """Every message shown once, in seq order with no gap; each typed text once."""
    log = page.get_by_role("log", name="Conversation")
    messages = log.locator(".msg")
    seqs = await messages.evaluate_all("els => els.map(e => Number(e.dataset.seq || 0))")
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    text = await log.inner_text()
    for line in typed:
        assert text.count(line) == 1, (line, text)
    positions = [text.index(line) for line in typed]
    assert positions == sorted(positions)
    return seqs


async def test_reconnect_after_server_killed(
    gateway: GatewayProcess, browser: Browser, database_url: str
) -> None:
    page = await (await browser.new_context(viewport={"width": 1024, "height": 800})).new_page()
    await page.goto(f"{gateway.http}/demo")
    await page.get_by_role("button", name="Chat with us").click()
    log = page.get_by_role("log", name="Conversation")
    replies = page.get_by_role("group", name="Suggested replies")
    box = page.get_by_role("textbox", name="Your message")

    await replies.get_by_role("button", name="Yes, continue").click(timeout=TIMEOUT)
    await expect(log).to_contain_text("How are you feeling right now?", timeout=TIMEOUT)
    await box.fill("I feel so tired today")
    await box.press("Enter")
    await expect(replies.get_by_role("button", name="Another feeling")).to_be_visible(
        timeout=TIMEOUT
    )
    await box.fill("work has been a lot lately")
    await box.press("Enter")
    await expect(log.locator(".msg.you")).to_have_count(3)
    await wait_until(page, "HavenWidget.state().outbox === 0")
    # Read the transcript once the bot's replies to the last message have all arrived.
    said = int(await log.locator(".msg.you").last.get_attribute("data-seq") or 0)
    await settled(page, database_url, said)
    before = await check_transcript(
        page, ["Yes, continue", "I feel so tired today", "work has been a lot lately"]
    )

    # The server dies. What is typed now waits in the outbox, shown as sending.
    await gateway.kill()
    await wait_until(page, "!HavenWidget.state().connected")
    await box.fill("are you still there?")
    await box.press("Enter")
    pending = log.locator(".msg.you").filter(has_text="are you still there?")
    await expect(pending).to_contain_text("Sending…")
    assert (await state(page))["outbox"] == 1
    stored = await page.evaluate("sessionStorage.getItem('haven-widget:outbox')")
    assert "are you still there?" in stored

    # It comes back on the same port and database; the widget resumes by itself.
    await gateway.start()
    await wait_until(page, "HavenWidget.state().connected && HavenWidget.state().outbox === 0")
    await expect(pending).to_contain_text("Sent")
    # The bot answers the message sent after the restart: wait for all its replies
    # (not just the first) before reading the transcript and the last seq.
    last = await settled(page, database_url, int(await pending.get_attribute("data-seq") or 0))
    typed = [
        "Yes, continue",
        "I feel so tired today",
        "work has been a lot lately",
        "are you still there?",
    ]
    after = await check_transcript(page, typed)
    assert after[: len(before)] == before
    assert len(after) == last
    assert (await state(page))["lastSeq"] == len(after)

    # A fresh tab with the same token and last_seq 0 replays what the server
    # stored: the same transcript, including the message typed while it was down.
    token = await page.evaluate("sessionStorage.getItem('haven-widget:token')")
    shown = await log.inner_text()
    other = await (await browser.new_context(viewport={"width": 1024, "height": 800})).new_page()
    await other.add_init_script(
        f"sessionStorage.setItem('haven-widget:token', {token!r});"
        "sessionStorage.setItem('haven-widget:open', '1');"
    )
    await other.goto(f"{gateway.http}/demo")
    await wait_until(other, f"HavenWidget.state().lastSeq === {len(after)}")
    assert await check_transcript(other, typed) == after
    replayed = other.get_by_role("log", name="Conversation")
    # Same words in the same order (the "Sent" marks and times aside).
    strip = "t => t.split('\\n').filter(l => !/^(\\d\\d:\\d\\d|Sent)$/.test(l.trim()))"
    assert await replayed.evaluate(f"(e) => ({strip})(e.innerText)") == await page.evaluate(
        f"({strip})", shown
    )
