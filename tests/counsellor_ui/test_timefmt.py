"""Clock times in the workspace read on the service's 24-hour clock, in its time zone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from counsellor_ui.timefmt import clock_in_zone, local_time
from counsellor_ui.web import templates
from gateway.settings import Settings


@pytest.mark.parametrize(
    ("at", "shown"),
    [
        ("2026-07-14T13:05:00Z", "14:05"),  # British Summer Time: UTC+1
        ("2026-12-01T13:05:00Z", "13:05"),  # Greenwich Mean Time
        ("2026-07-14T23:30:00+00:00", "00:30"),  # past midnight in London
        ("2026-03-29T00:59:00Z", "00:59"),  # a minute before the clocks go forward
        ("2026-03-29T01:00:00Z", "02:00"),  # the moment they do
    ],
)
def test_times_are_24_hour_in_europe_london(at: str, shown: str) -> None:
    assert clock_in_zone(at, "Europe/London") == shown


def test_an_aware_datetime_and_another_zone() -> None:
    at = datetime(2026, 7, 14, 18, 45, tzinfo=UTC)
    assert clock_in_zone(at, "Europe/London") == "19:45"
    assert clock_in_zone(at, "Europe/Dublin") == "19:45"
    assert clock_in_zone(at, "America/New_York") == "14:45"


def _request(settings: Settings) -> SimpleNamespace:
    # What a template sees of a request: the app's state holds the settings.
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(settings=settings)))


def test_the_template_filter_uses_the_services_time_zone() -> None:
    page = templates.env.from_string("{{ (at|local_time)|clock_time }}")
    at = datetime(2026, 7, 14, 13, 5, tzinfo=UTC)
    assert local_time(at) == "2026-07-14T13:05:00Z"
    assert page.render(at=at, request=_request(Settings())) == "14:05"
    tokyo = replace(Settings(), timezone="Asia/Tokyo")
    assert page.render(at=at, request=_request(tokyo)) == "22:05"
