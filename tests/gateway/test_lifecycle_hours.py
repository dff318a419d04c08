"""Opening hours: the rule, and what the bot tells a person when the service is closed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot_engine import AskCounsellor, SessionEvent, UserMessage
from gateway.actions.bot import run_bot
from gateway.opening_hours import OpeningHoursError, next_change_text, parse_opening_hours
from gateway.services import Services
from gateway.settings import SettingsError, load_settings
from tests.counsellor_ui.support import chat_row, transcript, use_quick_setup
from tests.factories import make_session, make_staff

# 2026-03-02 is a Monday; London is on GMT then, so local time equals UTC.
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return MONDAY.replace(day=2 + day, hour=hour, minute=minute)


def test_day_ranges_times_and_overnight_hours() -> None:
    hours = parse_opening_hours("mon-fri 09:00-17:30; sat,sun 18:00-02:00", "Europe/London")
    assert hours.is_open(at(0, 9)) and hours.is_open(at(4, 17, 29))
    assert not hours.is_open(at(0, 8, 59)) and not hours.is_open(at(0, 17, 30))
    assert not hours.is_open(at(5, 12))
    assert hours.is_open(at(5, 23)) and hours.is_open(at(6, 1, 59))
    # Sunday night runs into Monday morning, across the end of the week.
    assert hours.is_open(MONDAY.replace(hour=1)) and not hours.is_open(MONDAY.replace(hour=2))
    assert next_change_text(hours, at(0, 10)) == "open until 17:30"
    assert next_change_text(hours, at(4, 20)) == "closed until Sat 18:00"


def test_empty_means_always_open_and_the_zone_is_honoured() -> None:
    assert parse_opening_hours("", "UTC").is_open(at(2, 3))
    new_york = parse_opening_hours("mon 09:00-10:00", "America/New_York")
    assert new_york.is_open(at(0, 14, 30)) and not new_york.is_open(at(0, 9, 30))


@pytest.mark.parametrize(
    ("line", "zone"),
    [
        ("mon-fri 9-17", "UTC"),
        ("moon 09:00-17:00", "UTC"),
        ("mon 25:00-26:00", "UTC"),
        ("mon 09:00-17:00", "Mars/Olympus"),
    ],
)
def test_mistakes_are_refused_at_start_with_the_setting_named(line: str, zone: str) -> None:
    with pytest.raises(OpeningHoursError):
        parse_opening_hours(line, zone)
    with pytest.raises(SettingsError, match="OPENING_HOURS"):
        load_settings({"HAVEN_OPENING_HOURS": line, "HAVEN_TIMEZONE": zone})


@pytest.mark.asyncio
async def test_when_closed_the_bot_says_so_and_a_crisis_still_joins_the_queue(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_quick_setup(monkeypatch)
    # Open one minute a week, long ago in the week: closed now, whatever day it is.
    svc.settings = replace(svc.settings, opening_hours="mon 00:00-00:01", timezone="UTC")
    svc.clock = lambda: MONDAY.replace(hour=12)
    await make_staff(svc, name="Sam")  # available, yet the service is closed
    asking = await make_session(svc)
    await run_bot(svc, session_id=asking.id, event=SessionEvent(kind="started"))
    await run_bot(svc, session_id=asking.id, event=UserMessage(text="Yes, continue", value="yes"))
    await run_bot(svc, session_id=asking.id, event=AskCounsellor())
    said = " ".join(m.text for m in await transcript(svc, asking.id))
    assert "aren't online right now" in said
    assert (await chat_row(svc, asking.id)).state == "bot"

    crisis = await make_session(svc)
    await run_bot(svc, session_id=crisis.id, event=SessionEvent(kind="started"))
    await run_bot(svc, session_id=crisis.id, event=UserMessage(text="I want to end my life"))
    row = await chat_row(svc, crisis.id)
    assert (row.state, row.priority) == ("queued", 3)
