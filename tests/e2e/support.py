"""What the browser tests share: the accessibility check, and a charity's own site."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from playwright.async_api import Page


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
