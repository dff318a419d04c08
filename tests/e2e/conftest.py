"""Browser fixtures: Debian's chromium driven by Playwright, on SQLite for speed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

from gateway.settings import Settings
from tests.conftest import LiveServer
from tests.services import CHROMIUM, missing

# Browser tests run on SQLite; the protocol and actions are tested on both databases.
from tests.sqlite_only import database_url  # noqa: F401

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


@pytest_asyncio.fixture
async def gateway_as_named(settings: Settings) -> AsyncIterator[LiveServer]:
    """The gateway on the very port and address its settings name, for a page written
    before it starts (a charity's: tests/e2e/support.py, ``CharityAndGateway``);
    ``live_server`` picks a port of its own."""
    async with LiveServer(settings) as server:
        yield server


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        missing("chromium at /usr/bin/chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
def axe_source() -> str:
    if not AXE.exists():
        missing("axe-core in node_modules (run npm ci)")
    return AXE.read_text()
