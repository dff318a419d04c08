"""A supervisor reads the statistics page over two months of synthetic history."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, expect

from gateway.history import generate_history
from gateway.services import Services
from gateway.types import StaffRole
from tests.conftest import LiveServer
from tests.counsellor_ui.support import use_quick_setup
from tests.e2e.support import no_serious_axe_violations
from tests.factories import PASSWORD, make_staff

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def test_a_supervisor_asks_how_long_high_risk_chats_waited_last_week(
    live_server: LiveServer, browser: Browser, artifacts: Path, axe_source: str
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    lead = await make_staff(svc, name="Lead", role=StaffRole.SUPERVISOR, available=False)
    for name in ("Sam", "Jo", "Ari"):
        await make_staff(svc, name=name, available=False)
    await generate_history(
        svc.db.engine,
        days=40,
        sessions_per_day=60,
        seed=11,
        timezone=svc.settings.timezone,
        outcomes=svc.settings.wrapup_outcomes,
    )
    today = datetime.now(UTC).astimezone(ZoneInfo(svc.settings.timezone)).date()
    first, last = today - timedelta(days=7), today - timedelta(days=1)

    # CSP bypassed only so that axe-core can be injected.
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{live_server.http}/counsellor/")
    await page.get_by_label("Username").fill(lead.username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await (
        page.get_by_role("navigation", name="Workspace")
        .get_by_role("link", name="Statistics")
        .click()
    )
    await expect(page.get_by_role("heading", name="Statistics", level=1)).to_be_visible()
    await expect(page.get_by_label("Period")).to_have_value("7d")
    await page.screenshot(path=str(artifacts / "statistics-last-7-days.png"))
    await no_serious_axe_violations(page, axe_source)

    # Last week, high risk only, chosen with the form's labelled controls.
    await page.get_by_label("Period").select_option(label="Dates I choose")
    await page.get_by_label("From (for dates you choose)").fill(first.isoformat())
    await page.get_by_label("To (included)").fill(last.isoformat())
    await page.get_by_label("Priority or risk").select_option("high")
    await page.get_by_role("button", name="Show").click()
    summary = page.locator("#summary-h")
    await expect(summary).to_contain_text(first.strftime("%-d %b %Y"))
    await expect(summary).to_contain_text("High risk")
    assert re.search(r"period=custom&from=[\d-]+&to=[\d-]+&priority=high", page.url)

    figures = page.locator("section[aria-labelledby=summary-h] dl")
    median = figures.locator("div", has_text="Median wait").locator("dd")
    missed = figures.locator("div", has_text="Missed the target").locator("dd")
    await expect(median).not_to_have_text("\u2013")  # the dash of no figure
    await expect(missed).to_have_text(re.compile(r"^\d+ of \d+$"))
    levels = page.get_by_role("table", name="Service level by priority or risk")
    await expect(levels.get_by_role("row")).to_have_count(2)  # the header and high risk
    await expect(page.locator("figure svg")).to_have_count(4)
    await page.screenshot(path=str(artifacts / "statistics-high-risk-week.png"))
    await page.locator("#target-h").scroll_into_view_if_needed()
    await page.screenshot(path=str(artifacts / "statistics-against-target.png"))
    await page.locator("#demand-h").scroll_into_view_if_needed()
    await page.screenshot(path=str(artifacts / "statistics-demand.png"))
    await page.locator("#sessions-h").scroll_into_view_if_needed()
    await page.screenshot(path=str(artifacts / "statistics-conversations.png"))
    await page.screenshot(path=str(artifacts / "statistics-full.png"), full_page=True)
    await no_serious_axe_violations(page, axe_source)

    # A quiet period before any history: every card says so, nothing is left blank.
    await page.goto(
        f"{live_server.http}/counsellor/statistics?period=custom&from=2020-01-06&to=2020-01-12"
    )
    await expect(summary).to_contain_text("6 Jan 2020 to 12 Jan 2020")
    await expect(median).to_have_text("\u2013")
    await expect(page.get_by_text("No chats claimed in this period.")).to_be_visible()
    await page.screenshot(path=str(artifacts / "statistics-empty.png"), full_page=True)
    await no_serious_axe_violations(page, axe_source)
    await page.go_back()

    # The export of the same choice, from its link.
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Download these figures (CSV)").click()
    saved = artifacts / "statistics-export.csv"
    await (await download.value).save_as(saved)
    lines = saved.read_bytes().decode().split("\r\n")
    assert lines[0] == "Period" and lines[lines.index("Service level") + 1].startswith("class,")
    await context.close()
