"""What the browser tests share: the accessibility check, and a charity's own site
beside the gateway."""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from gateway.settings import Settings
from tests.conftest import make_settings
from tests.services import free_port


async def wait_for_expression(page: Page, expression: str, timeout_s: float = 30.0) -> None:
    """Poll ``expression`` in the page until it is truthy. Playwright's
    ``wait_for_function`` compiles its argument with ``new Function``, which the
    pages' Content-Security-Policy (no 'unsafe-eval') refuses; ``evaluate`` is not."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await page.evaluate(expression):
        if loop.time() > deadline:
            raise TimeoutError(f"still false after {timeout_s:.0f} s: {expression}")
        await asyncio.sleep(0.1)


async def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    """A member of staff signs in through the sign-in page and reaches the queue."""
    await page.goto(f"{base_url}/counsellor/")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name=re.compile("Waiting"))).to_be_visible()


async def inject_axe(page: Page, axe_source: str) -> None:
    """axe-core into the page, whatever its Content-Security-Policy (``/demo`` has
    ``script-src 'self'``): evaluated through the browser's debugging protocol, not
    added as an inline script the policy would block."""
    await page.evaluate(f"{axe_source}\n;0")


async def no_serious_axe_violations(page: Page, axe_source: str) -> None:
    """axe-core finds nothing serious or critical on the page as it is now."""
    await inject_axe(page, axe_source)
    result: dict[str, Any] = await page.evaluate("axe.run(document)")
    serious = [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []


@contextlib.contextmanager
def one_page_site(port: int, page: Callable[[], str]) -> Iterator[None]:
    """Another web site on a loopback port (a charity's own): ``page()`` at every path."""

    class OnePage(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    site = ThreadingHTTPServer(("127.0.0.1", port), OnePage)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        site.shutdown()
        site.server_close()


@dataclass(frozen=True)
class CharityAndGateway:
    """A charity's one-page site and the gateway its page names, on ports fixed at import
    so that the page can be written before either serves.

    ``host`` "localhost" puts both on the same site (the staff cookie goes along with
    the charity page's requests); "127.0.0.1" is the usual loopback address.
    """

    host: str
    gateway_port: int = field(default_factory=free_port)
    charity_port: int = field(default_factory=free_port)

    @property
    def gateway(self) -> str:
        return f"http://{self.host}:{self.gateway_port}"

    @property
    def charity(self) -> str:
        return f"http://{self.host}:{self.charity_port}"

    def settings(self, database_url: str, data_dir: Path, **overrides: object) -> Settings:
        """Test settings for the gateway on its own port and address."""
        return make_settings(
            database_url, data_dir, port=self.gateway_port, public_url=self.gateway, **overrides
        )

    @contextlib.contextmanager
    def charity_site(self, page: Callable[[], str]) -> Iterator[str]:
        """The charity's site serving ``page()``; yields its address."""
        with one_page_site(self.charity_port, page):
            yield self.charity + "/"
