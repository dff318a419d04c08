"""Statistics against a reference computed with Python's ``statistics`` module."""

from __future__ import annotations

import random
import statistics as ref
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.actions.queue import claim_session, release_session
from gateway.actions.statistics import BIN_EDGES_S, percentile, statistics_for
from gateway.actions.waits import GAVE_UP, OUTCOMES, wait_class
from gateway.services import Services
from gateway.settings import SettingsError, load_settings, parse_wait_targets
from tests.counsellor_ui.support import Clock, use_quick_setup
from tests.factories import add_history_wait as add_wait
from tests.factories import make_queued_session, make_staff

pytestmark = pytest.mark.asyncio
LONDON = ZoneInfo("Europe/London")
LEVELS = [(3, "imminent"), (3, "high"), (3, "concern"), (3, "none"), (2, "none"), (1, "none")]


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def quantile(values: list[float], q: int) -> float:
    """The reference: statistics.quantiles, inclusive (one value: itself)."""
    if len(values) == 1:
        return values[0]
    return ref.quantiles(values, n=100, method="inclusive")[q - 1]


async def test_an_empty_period_has_no_figures(svc: Services) -> None:
    stats = await statistics_for(svc, first=date(2026, 5, 1), last=date(2026, 5, 7))
    w = stats.waits
    assert (w.waits, w.claimed, w.gave_up, w.median_s, w.p95_s, w.max_s) == (
        0,
        0,
        0,
        None,
        None,
        None,
    )
    assert w.abandonment_rate is None and stats.sessions.escalation_rate is None
    assert [d.waits for d in stats.days] == [0] * 7
    assert all(level.counted == 0 for level in stats.levels) and stats.counted == 0
    assert sum(b.count for b in stats.bins) == 0 and sum(stats.by_hour) == 0


async def test_one_wait_is_its_own_median_and_percentiles(svc: Services) -> None:
    day = date(2026, 5, 4)
    await add_wait(svc, local(day, 14, 5), 42)
    stats = await statistics_for(svc, first=day, last=day)
    w = stats.waits
    assert (w.median_s, w.p90_s, w.p95_s, w.max_s) == pytest.approx((42, 42, 42, 42))
    assert stats.by_hour[14] == 1 and stats.by_weekday[0] == 1  # a Monday afternoon
    assert [(b.low_s, b.count) for b in stats.bins if b.count] == [(30, 1)]
    (requested,) = [lv for lv in stats.levels if lv.key == "requested"]
    assert (requested.met, requested.counted, requested.missed) == (1, 1, 0)


async def test_generated_waits_match_the_reference(svc: Services) -> None:
    rng = random.Random(11)
    first, last = date(2026, 6, 1), date(2026, 6, 3)
    targets = svc.settings.wait_target_s
    short = svc.settings.short_abandon_s
    kept: list[tuple[datetime, float, str, str]] = []  # entered, seconds, outcome, class
    for i in range(150):
        day = first + timedelta(days=i % 3)
        entered = local(day, rng.randrange(24), rng.randrange(60))
        # Ties on purpose: whole minutes and a few repeated values.
        seconds = float(rng.choice([5, 30, 60, 60, 60, 90, 120, 300, 600, 601, 1800, 4000]))
        outcome = rng.choice(["claimed"] * 4 + list(OUTCOMES))
        priority, risk = rng.choice(LEVELS)
        await add_wait(svc, entered, seconds, outcome=outcome, priority=priority, risk=risk)
        kept.append((entered, seconds, outcome, wait_class(priority, risk)))
    # Outside the period, on either side, and one still waiting inside it.
    await add_wait(svc, local(first, 0) - timedelta(seconds=1), 7)
    await add_wait(svc, local(last + timedelta(days=1), 0), 7)
    await add_wait(svc, local(first, 9), None)

    stats = await statistics_for(svc, first=first, last=last)
    claimed = sorted(s for _, s, o, _ in kept if o == "claimed")
    gave_up = [s for _, s, o, _ in kept if o in GAVE_UP]
    w = stats.waits
    assert (w.waits, w.claimed, w.gave_up, w.waiting) == (151, len(claimed), len(gave_up), 1)
    assert w.median_s == pytest.approx(ref.median(claimed))
    assert w.p90_s == pytest.approx(quantile(claimed, 90))
    assert w.p95_s == pytest.approx(quantile(claimed, 95))
    assert w.max_s == pytest.approx(max(claimed))
    assert w.abandon_median_s == pytest.approx(ref.median(gave_up))
    assert w.abandonment_rate == pytest.approx(len(gave_up) / (len(claimed) + len(gave_up)))
    for level in stats.levels:
        mine = [(s, o) for _, s, o, k in kept if k == level.key]
        met = sum(1 for s, o in mine if o == "claimed" and s <= targets[level.key])
        counted = sum(1 for s, o in mine if o == "claimed" or (o in GAVE_UP and s >= short))
        assert (level.met, level.counted) == (met, counted), level.key
    edges = (0, *BIN_EDGES_S, float("inf"))
    assert [b.count for b in stats.bins] == [
        sum(1 for s in claimed if edges[i] <= s < edges[i + 1]) for i in range(len(edges) - 1)
    ]
    for day in stats.days:
        that = sorted(
            s for e, s, o, _ in kept if o == "claimed" and e.astimezone(LONDON).date() == day.day
        )
        assert day.waits == len(that)
        assert day.median_s == pytest.approx(ref.median(that))
        assert day.p90_s == pytest.approx(quantile(that, 90))
    # One priority only: the same figures over that class alone.
    crisis = await statistics_for(svc, first=first, last=last, wait_class="high")
    high = sorted(s for _, s, o, k in kept if o == "claimed" and k == "high")
    assert crisis.waits.claimed == len(high)
    assert crisis.waits.median_s == pytest.approx(ref.median(high))
    assert [lv.key for lv in crisis.levels] == ["high"]


async def test_the_python_percentile_is_the_reference_method() -> None:
    values = sorted([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])
    for q in (10, 25, 50, 90, 95, 99):
        assert percentile(values, q) == pytest.approx(quantile(values, q))
    assert percentile(values, 50) == ref.median(values) and percentile([], 50) is None


async def test_a_requeued_session_counts_each_wait(svc: Services) -> None:
    clock = Clock(datetime(2026, 7, 8, 10, 0, tzinfo=UTC))
    svc.clock = clock
    chat = await make_queued_session(svc)
    sam = await make_staff(svc, name="Sam")
    clock.advance(50)
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).won
    clock.advance(600)
    assert await release_session(svc, session_id=chat.id, staff_id=sam.id)
    clock.advance(20)
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).won
    stats = await statistics_for(svc, first=date(2026, 7, 8), last=date(2026, 7, 8))
    assert (stats.waits.waits, stats.waits.claimed) == (2, 2)
    assert (stats.waits.median_s, stats.waits.max_s) == pytest.approx((35, 50))
    assert stats.sessions.started == 1 and stats.sessions.escalated == 1
    assert [(c.name, c.chats) for c in stats.counsellors] == [("Sam", 2)]


@pytest.mark.parametrize(("day", "hours"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25)])
async def test_a_local_day_across_a_change_of_clocks(svc: Services, day: date, hours: int) -> None:
    start, end = local(day, 0), local(day + timedelta(days=1), 0)
    assert end - start == timedelta(hours=hours)
    # One wait at the first and last minute of the local day, one each side of it,
    # and one an hour after the change (02:30 in spring, the second 01:30 in autumn).
    await add_wait(svc, start, 60)
    await add_wait(svc, end - timedelta(minutes=1), 120)
    await add_wait(svc, start - timedelta(minutes=1), 10)
    await add_wait(svc, end, 10)
    after = datetime(day.year, day.month, day.day, 1, 30, tzinfo=UTC)
    await add_wait(svc, after, 90)
    stats = await statistics_for(svc, first=day, last=day)
    assert stats.period.end - stats.period.start == timedelta(hours=hours)
    assert (stats.waits.waits, stats.days[0].waits) == (3, 3)
    assert stats.waits.median_s == pytest.approx(90)
    expected = [0] * 24
    for at in (start, end - timedelta(minutes=1), after):
        expected[at.astimezone(LONDON).hour] += 1
    assert stats.by_hour == expected
    assert stats.by_weekday[6] == 3  # both changes fall on a Sunday
    two = await statistics_for(svc, first=day - timedelta(days=1), last=day + timedelta(days=1))
    assert [d.waits for d in two.days] == [1, 3, 1]


async def test_wait_targets_must_name_every_class_once() -> None:
    assert parse_wait_targets("other=600, requested=600,concern=120,high=60,imminent=30") == {
        "imminent": 30.0,
        "high": 60.0,
        "concern": 120.0,
        "requested": 600.0,
        "other": 600.0,
    }
    for bad in ("imminent=60,high=60", "crisis=60", "imminent=0,high=60", "high"):
        with pytest.raises(SettingsError, match="HAVEN_WAIT_TARGETS"):
            load_settings({"HAVEN_WAIT_TARGETS": bad})
