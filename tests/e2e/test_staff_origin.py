"""A script on the charity's own site cannot drive a counsellor's workspace, in a real browser.

The gateway runs at ``http://localhost:G`` and the charity's site at
``http://localhost:C``, which HAVEN_ALLOWED_ORIGINS lists for the widget. Both are
on ``localhost``, so they are the same site: the counsellor's cookie goes along with
any request the charity's page makes to the gateway, as it would for
``www.charity.org`` and ``chat.charity.org``. With a counsellor signed in, the
charity's page (standing in for a compromised analytics tag) opens the counsellor
socket and posts a staff form carrying the counsellor's real CSRF token. Before the
fix the socket was accepted and streamed the queue; now both are refused, while the
widget on the same page still works, the page may frame ``/demo`` and may not frame
a staff page.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from gateway.services import Services
from gateway.settings import Settings
from tests.conftest import LiveServer
from tests.counsellor_ui.support import use_quick_setup
from tests.e2e.support import CharityAndGateway, no_serious_axe_violations, sign_in
from tests.factories import PASSWORD, make_staff

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

TIMEOUT = 10_000
# On ``localhost`` both, so the same site: the counsellor's cookie goes along.
SITES = CharityAndGateway(host="localhost")
GATEWAY, CHARITY = SITES.gateway, SITES.charity

# The charity's page: the widget, two frames, and a script that tries the staff socket.
CHARITY_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Harbour Lane</title></head><body><main>
<h1>Harbour Lane</h1>
<form method="post" action="{gateway}/counsellor/presence" id="attack">
  <input type="hidden" name="csrf_token" value="{csrf}">
  <input type="hidden" name="available" value="no">
  <button>Send the staff form</button>
</form>
<p id="socket">trying</p>
<iframe title="Demo" src="{gateway}/demo" width="400" height="200"></iframe>
<iframe title="Staff" src="{gateway}/counsellor/sign-in" width="400" height="200"></iframe>
</main>
<script>
  const out = document.getElementById('socket');
  const ws = new WebSocket('{ws}/counsellor/ws');
  let heard = 0;
  ws.onmessage = () => {{ heard += 1; }};
  ws.onclose = (e) => {{ out.textContent = 'closed ' + e.code + ' after ' + heard + ' frames'; }};
</script>
<script src="{gateway}/widget.js" async></script>
</body></html>"""


class Attack:
    """What the charity's page knows of the counsellor: set once the counsellor signs in."""

    csrf = ""


def charity_page() -> str:
    ws = GATEWAY.replace("http", "ws", 1)
    return CHARITY_PAGE.format(gateway=GATEWAY, ws=ws, csrf=Attack.csrf)


@pytest.fixture
def charity_site() -> Iterator[str]:
    with SITES.charity_site(charity_page) as url:
        yield url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return SITES.settings(database_url, tmp_path, allowed_origins=(CHARITY,))


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def test_the_charitys_page_cannot_drive_a_signed_in_counsellors_workspace(
    gateway_as_named: LiveServer,
    charity_site: str,
    browser: Browser,
    artifacts: Path,
    axe_source: str,
) -> None:
    svc: Services = gateway_as_named.app.state.runtime.svc
    sam = await make_staff(svc, name="Sam", available=True)
    # The CSP is bypassed in this window only so that axe-core can be injected; the
    # framing is checked in a second, ordinary window below.
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    staff = await context.new_page()
    await sign_in(staff, GATEWAY, sam.username, PASSWORD)
    await expect(staff.get_by_text("You are available")).to_be_visible()
    # The worst case: the page even knows the counsellor's CSRF token.
    token = await staff.locator('input[name="csrf_token"]').first.get_attribute("value")
    assert token
    Attack.csrf = token

    # In the same browser, so with the counsellor's cookie, the charity's page.
    page = await context.new_page()
    await page.goto(charity_site)
    await expect(page.locator("#socket")).to_have_text("closed 1008 after 0 frames")

    # The widget on the same page still works.
    await page.get_by_role("button", name="Chat with us").click()
    chat_log = page.get_by_role("log", name="Conversation")
    await expect(chat_log).to_contain_text("welcome", ignore_case=True, timeout=TIMEOUT)
    await page.screenshot(path=artifacts / "staff-origin-1-charity-page.png")

    # The staff form, posted from the charity's page with the real token: refused.
    await page.get_by_role("button", name="Send the staff form").click()
    await expect(page.get_by_role("heading", name="That was not possible")).to_be_visible()
    await expect(page.get_by_text("sent from another web site")).to_be_visible()
    await page.screenshot(path=artifacts / "staff-origin-2-form-refused.png")
    await no_serious_axe_violations(page, axe_source)
    # Sam is still signed in and still available: nothing happened.
    await staff.reload()
    await expect(staff.get_by_text("You are available")).to_be_visible()
    await context.close()

    # An ordinary window: the charity's page may frame the demo, never a staff page.
    plain = await browser.new_context(viewport={"width": 1280, "height": 900})
    visitor = await plain.new_page()
    await visitor.goto(charity_site)
    demo = visitor.frame_locator('iframe[title="Demo"]')
    await expect(demo.get_by_role("heading", level=1)).to_be_visible()
    await expect(
        visitor.frame_locator('iframe[title="Staff"]').get_by_label("Username")
    ).to_have_count(0)
    staff_frame = visitor.frames[-1]
    assert not staff_frame.url.startswith(GATEWAY), staff_frame.url  # the browser refused it
    await visitor.screenshot(path=artifacts / "staff-origin-3-frames.png")
    await plain.close()
