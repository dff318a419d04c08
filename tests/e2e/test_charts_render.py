"""The four charts on one page, as chromium draws them under the workspace's CSP.

A year of synthetic waits goes through ``counsellor_ui.charts``; the page is served with
the workspace's own Content-Security-Policy and stylesheet, so an inline style would be
refused (and reported) as it would be on the statistics page. The page is written to
``test-artifacts/charts-sample.html`` and photographed at 1280x800.
"""

from __future__ import annotations

import random
import statistics
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, ConsoleMessage, expect

from counsellor_ui.charts import (
    DayWaits,
    HistogramBin,
    ServiceLevelRow,
    daily_waits,
    demand_heatmap,
    service_levels,
    wait_histogram,
)
from counsellor_ui.web import content_security_policy
from tests.e2e.support import no_serious_axe_violations
from tests.services import free_port

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]

STYLE = Path(__file__).resolve().parents[2] / "counsellor_ui" / "static" / "style.css"
EDGES = (0, 30, 60, 120, 300, 600, 1200, 1800, 3600)
TEN_MIN = 600.0

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Charts sample</title><link rel="stylesheet" href="/counsellor/static/style.css"></head>
<body><main id="main"><h1>Statistics: charts sample</h1>
<section class="card" aria-labelledby="daily-h"><h2 id="daily-h">Day by day</h2>{daily}</section>
<div class="two-col">
<section class="card" aria-labelledby="dist-h"><h2 id="dist-h">Distribution</h2>
{histogram}</section>
<section class="card" aria-labelledby="sl-h"><h2 id="sl-h">Against target</h2>{levels}</section>
</div>
<section class="card" aria-labelledby="demand-h"><h2 id="demand-h">Demand</h2>{heatmap}</section>
<section class="card" aria-labelledby="empty-h"><h2 id="empty-h">A quiet period</h2>
{empty}</section>
</main></body></html>"""


def sample_page() -> str:
    """Two weeks of waits with a weekly rhythm, a bad last day and a day with none."""
    rng = random.Random(11)
    first = date(2026, 11, 16)
    days: list[DayWaits] = []
    all_waits: list[float] = []
    demand: dict[tuple[int, int], int] = {}
    for offset in range(14):
        day = first + timedelta(days=offset)
        if offset == 9:  # the service was closed: no waits at all
            days.append(DayWaits(day, None, None, 0))
            continue
        slow = 3.0 if offset == 13 else 1.0 + 0.4 * (day.weekday() >= 5)
        waits = [rng.expovariate(1 / (150 * slow)) for _ in range(rng.randint(25, 60))]
        all_waits += waits
        p90 = statistics.quantiles(waits, n=10, method="inclusive")[-1]
        days.append(DayWaits(day, statistics.median(waits), p90, len(waits)))
        for _ in waits:
            hour = min(23, max(0, round(rng.gauss(16, 4.5))))
            demand[day.weekday(), hour] = demand.get((day.weekday(), hour), 0) + 1
    bins = [
        HistogramBin(
            low,
            high,
            sum(1 for w in all_waits if w >= low and (high is None or w < high)),
        )
        for low, high in zip(EDGES, (*EDGES[1:], None), strict=True)
    ]
    within = sum(1 for w in all_waits if w < TEN_MIN)
    levels = [
        ServiceLevelRow("Crisis (1 min)", 41, 44, 0.9),
        ServiceLevelRow("Requested a person (10 min)", within, len(all_waits), 0.9),
        ServiceLevelRow("Other (10 min)", 120, 160, 0.8),
        ServiceLevelRow("Callback <script>alert(1)</script>", 0, 0, 0.9),
    ]
    return PAGE.format(
        daily=daily_waits(days, TEN_MIN, id_prefix="daily"),
        histogram=wait_histogram(bins, TEN_MIN, id_prefix="histogram"),
        levels=service_levels(levels, id_prefix="levels"),
        heatmap=demand_heatmap(demand, id_prefix="demand"),
        empty=daily_waits([DayWaits(first, None, None, 0)], TEN_MIN, id_prefix="quiet"),
    )


class SamplePages(BaseHTTPRequestHandler):
    page = ""

    def do_GET(self) -> None:
        if self.path == "/counsellor/static/style.css":
            body, kind = STYLE.read_bytes(), "text/css"
        else:
            body, kind = self.page.encode(), "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", content_security_policy(""))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def sample_site(artifacts: Path) -> Iterator[str]:
    SamplePages.page = sample_page()
    (artifacts / "charts-sample.html").write_text(SamplePages.page)
    site = ThreadingHTTPServer(("127.0.0.1", free_port()), SamplePages)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{site.server_address[1]}/statistics"
    finally:
        site.shutdown()
        site.server_close()


# Rendered size of the smallest text: its font-size scaled as the viewBox is.
SMALLEST_TEXT = """() => [...document.querySelectorAll('figure.chart svg')].map((svg) => {
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  const sizes = [...svg.querySelectorAll('text')].map((t) => Number(t.getAttribute('font-size')));
  return Math.min(...sizes) * scale;
})"""


async def test_four_charts_under_the_workspace_csp(
    browser: Browser, sample_site: str, axe_source: str, artifacts: Path
) -> None:
    strict = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
    refused: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    strict.on("console", on_console)
    await strict.goto(sample_site)
    await expect(strict.get_by_role("img", name="Waits day by day").first).to_be_visible()
    # The stylesheet applied (the pictures keep their 32rem floor) and nothing was refused.
    sizes = await strict.evaluate(SMALLEST_TEXT)
    assert len(sizes) == 5
    assert min(sizes) >= 12
    assert refused == []
    await strict.screenshot(path=str(artifacts / "charts-sample-1-top.png"))
    await strict.locator(".two-col").scroll_into_view_if_needed()
    await strict.screenshot(path=str(artifacts / "charts-sample-1-pair.png"))

    # axe-core is injected as an inline script, so the accessibility pass bypasses the CSP.
    page = await (
        await browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    ).new_page()
    await page.goto(sample_site)
    await expect(page.get_by_role("img", name="How long people waited")).to_be_visible()
    await expect(page.get_by_role("img", name="Demand by hour and day of the week")).to_be_visible()
    levels = page.get_by_role("img", name="Service level: waits claimed within the target")
    await expect(levels).to_be_visible()
    quiet = page.locator("#quiet").get_by_text("No waits in this period", exact=True)
    await expect(quiet).to_be_visible()
    await no_serious_axe_violations(page, axe_source)
    await page.screenshot(path=str(artifacts / "charts-sample-2-full.png"), full_page=True)

    # The table alternative opens from the keyboard and carries the day without waits.
    await page.locator("#daily summary").focus()
    await page.keyboard.press("Enter")
    table = page.get_by_role("table", name="Waits day by day")
    await expect(table).to_be_visible()
    await expect(table.get_by_role("row", name="Wed 25 Nov 0 \u2013 \u2013")).to_be_visible()
    await table.scroll_into_view_if_needed()
    await no_serious_axe_violations(page, axe_source)
    await page.screenshot(path=str(artifacts / "charts-sample-3-table.png"))
