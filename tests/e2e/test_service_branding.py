"""The charity's own name, colour and logo, and the service's clock, in a real browser.

A helpline called "Harbour Lane Listening" runs the gateway with its own accent colour
and logo. A person in the UK opens the chat: the widget carries the charity's name,
logo and colour, and the bot greets in its name. A counsellor whose laptop is set to
New York signs in: the sign-in page, the dashboard and the chat carry the charity's
name, and the transcript reads on the service's 24-hour London clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Route, expect

from counsellor_ui.timefmt import clock_in_zone
from gateway.services import Services
from gateway.settings import Settings
from tests.chat_client import ChatClient
from tests.conftest import LiveServer
from tests.counsellor_ui.support import use_quick_setup
from tests.e2e.support import CharityAndGateway, no_serious_axe_violations
from tests.factories import PASSWORD, make_staff

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

TIMEOUT = 10_000
NAME = "Harbour Lane Listening"
ACCENT = "#7a1f5c"  # a plum: white text on it is 10.2:1
LOGO = "https://logo.harbour-lane.example/wordmark.svg"
# The charity's logo, served to the browser as if from its own web site.
WORDMARK = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="150" height="28" viewBox="0 0 150 28">'
    '<rect width="150" height="28" rx="4" fill="#fff"/>'
    '<circle cx="14" cy="14" r="9" fill="#7a1f5c"/>'
    '<text x="28" y="19" font-family="sans-serif" font-size="13" font-weight="700"'
    ' fill="#7a1f5c">Harbour Lane</text></svg>'
)

# The charity's own site, on another origin, embedding the script with no attributes
# at all: the name, the colour and the logo all come from the gateway.
CHARITY_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Harbour Lane Listening</title></head><body>
<main><h1>Harbour Lane Listening</h1><p>Someone to talk to, when you need it.</p></main>
<script src="{gateway}/widget.js" async></script></body></html>"""
SITES = CharityAndGateway(host="127.0.0.1")
GATEWAY, CHARITY = SITES.gateway, SITES.charity


@pytest.fixture
def charity_site() -> Iterator[str]:
    with SITES.charity_site(lambda: CHARITY_PAGE.format(gateway=GATEWAY)) as url:
        yield url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return SITES.settings(
        database_url,
        tmp_path,
        service_name=NAME,
        accent_colour=ACCENT,
        logo_url=LOGO,
        allowed_origins=(GATEWAY, CHARITY),
    )


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def serve_logo(route: Route) -> None:
    await route.fulfill(status=200, content_type="image/svg+xml", body=WORDMARK)


async def test_a_person_and_a_counsellor_see_the_charity_and_its_clock(
    gateway_as_named: LiveServer,
    charity_site: str,
    browser: Browser,
    artifacts: Path,
    axe_source: str,
) -> None:
    svc: Services = gateway_as_named.app.state.runtime.svc
    sam = await make_staff(svc, name="Sam", available=False)

    # The person, in the UK.
    person_ctx = await browser.new_context(
        viewport={"width": 1280, "height": 800}, timezone_id="Europe/London", bypass_csp=True
    )
    await person_ctx.route(LOGO, serve_logo)
    person = await person_ctx.new_page()
    await person.goto(charity_site)
    launcher = person.get_by_role("button", name="Chat with us")
    # The launcher wears the charity's colour before any connection.
    await expect(launcher).to_have_css("background-color", "rgb(122, 31, 92)")
    await launcher.click()
    panel = person.get_by_role("dialog")
    logo = panel.get_by_role("img", name=NAME)
    await expect(logo).to_be_visible(timeout=TIMEOUT)
    assert await logo.evaluate("img => img.naturalWidth") == 150  # it loaded
    chat_log = person.get_by_role("log", name="Conversation")
    await expect(chat_log).to_contain_text(f"Hi, and welcome to {NAME}.", timeout=TIMEOUT)
    await expect(chat_log).not_to_contain_text("Haven")
    send = panel.get_by_role("button", name="Send")
    await expect(send).to_have_css("background-color", "rgb(122, 31, 92)")
    await expect(send).to_have_css("color", "rgb(255, 255, 255)")
    # Message times: the person's own clock, 24-hour for the UK.
    first = person.locator("haven-chat").locator("time").first
    at = await first.get_attribute("datetime")
    assert at is not None
    await expect(first).to_have_text(clock_in_zone(at, "Europe/London"))
    await person.screenshot(path=str(artifacts / "branding-1-widget.png"))
    await no_serious_axe_violations(person, axe_source)

    await panel.get_by_role("button", name="Yes, continue").click()
    box = panel.get_by_role("textbox", name="Your message")
    await box.fill("Could I talk to someone about my week?")
    await send.click()
    await box.fill("I want to talk to a person")
    await send.click()
    await expect(person.get_by_text(re.compile("number 1 in the queue"))).to_be_visible(
        timeout=TIMEOUT
    )

    # The counsellor, whose laptop is set to New York: times still read on London's clock.
    desk_ctx = await browser.new_context(
        viewport={"width": 1280, "height": 800}, timezone_id="America/New_York", bypass_csp=True
    )
    await desk_ctx.route(LOGO, serve_logo)
    desk = await desk_ctx.new_page()
    await desk.goto(f"{gateway_as_named.http}/counsellor/")
    await expect(desk).to_have_title(f"Sign in · {NAME} counsellor workspace")
    await expect(desk.get_by_role("banner")).to_contain_text(
        f"{NAME} counsellor workspace, powered by Haven"
    )
    assert await desk.locator("link[rel=icon]").get_attribute("href") == "/favicon.svg"
    # The staff pages wear the charity's colour and logo too.
    sign_in_button = desk.get_by_role("button", name="Sign in")
    red, green, blue = (int(ACCENT[i : i + 2], 16) for i in (1, 3, 5))
    await expect(sign_in_button).to_have_css("background-color", f"rgb({red}, {green}, {blue})")
    staff_logo = desk.locator("header img.brand-logo")
    assert await staff_logo.get_attribute("src") == LOGO
    assert await staff_logo.evaluate("img => img.complete && img.naturalWidth") == 150
    await desk.screenshot(path=str(artifacts / "branding-2-sign-in.png"))
    await no_serious_axe_violations(desk, axe_source)

    await desk.get_by_label("Username").fill(sam.username)
    await desk.get_by_label("Password").fill(PASSWORD)
    await desk.get_by_role("button", name="Sign in").click()
    await expect(desk.get_by_role("button", name="Claim")).to_have_count(1, timeout=TIMEOUT)
    await expect(desk).to_have_title(re.compile(rf"Queue · {NAME} counsellor workspace$"))
    await expect(desk.get_by_role("banner")).to_contain_text(NAME)
    await desk.screenshot(path=str(artifacts / "branding-3-dashboard.png"))
    await no_serious_axe_violations(desk, axe_source)

    await desk.get_by_role("button", name="Claim").click()
    transcript = desk.get_by_role("log", name="Transcript")
    await expect(transcript).to_contain_text("I want to talk to a person", timeout=TIMEOUT)
    await expect(desk).to_have_title(re.compile(rf"{NAME} counsellor workspace$"))
    times = transcript.locator("time[datetime]")
    assert await times.count() >= 3
    for i in range(await times.count()):
        stamp = times.nth(i)
        at = await stamp.get_attribute("datetime")
        assert at is not None
        # London's 24-hour clock, never the reader's New York one, never "2:05 PM".
        await expect(stamp).to_have_text(clock_in_zone(at, "Europe/London"))
        assert clock_in_zone(at, "Europe/London") != clock_in_zone(at, "America/New_York")
    await desk.screenshot(path=str(artifacts / "branding-4-chat.png"))
    await no_serious_axe_violations(desk, axe_source)

    await person_ctx.close()
    await desk_ctx.close()


async def test_the_favicon_and_the_welcome_frames_service(gateway_as_named: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=gateway_as_named.http) as client:
        for path in ("/favicon.ico", "/favicon.svg"):
            icon = await client.get(path)
            assert icon.status_code == 200
            assert icon.headers["content-type"] == "image/svg+xml"
            assert icon.text.lstrip().startswith("<svg")
        demo = await client.get("/demo")
        assert '<link rel="icon" href="/favicon.svg"' in demo.text
        # The script carries the charity for pages on other sites.
        script = await client.get("/widget.js")
        assert f'"name": "{NAME}", "accent": "{ACCENT}", "logo_url": "{LOGO}"' in script.text
        assert "/*HAVEN_SERVICE*/" not in script.text
    # Any other client (an app, a bridge) learns the same from welcome.
    client = await ChatClient.open(gateway_as_named.ws, gateway_as_named.origin)
    try:
        welcome = await client.hello(locale="cy")
    finally:
        await client.ws.close()
    assert welcome["service"] == {"name": NAME, "accent": ACCENT, "logo_url": LOGO}
