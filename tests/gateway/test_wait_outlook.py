"""What a waiting person is told about the wait (gateway/wait_outlook.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.wait_outlook import (
    LONG_STEP_S,
    STEP_S,
    ServiceLoad,
    WaitEstimate,
    estimate_wait,
)

# Three counsellors with two chats each, every one of them full; chats of about
# 20 minutes lately, and 12 claims in the last hour.
BUSY = ServiceLoad(
    on_duty=3,
    free=0,
    free_places=0,
    max_chats=2,
    recent_claims=12,
    chat_lengths_s=(900.0, 1200.0, 1500.0),
)


def test_first_in_line_with_three_counsellors_free_is_told_shortly_without_a_number() -> None:
    load = ServiceLoad(on_duty=3, free=3, free_places=6, max_chats=2, recent_claims=0)
    wait = estimate_wait(1, load)
    assert wait == WaitEstimate("shortly")
    assert wait.range_s is None and wait.estimated_s is None


def test_free_places_cover_the_people_ahead_too() -> None:
    load = ServiceLoad(on_duty=2, free=1, free_places=2, max_chats=2)
    assert estimate_wait(2, load).outlook == "shortly"
    # The third in line needs a place nobody has yet.
    assert estimate_wait(3, load).outlook == "busy"


def test_nobody_on_duty_has_no_number_and_says_which_kind_of_absence() -> None:
    # Recent claims do not make an absent counsellor appear.
    nobody = ServiceLoad(on_duty=0, free=0, free_places=0, recent_claims=30)
    assert estimate_wait(1, nobody) == WaitEstimate("nobody_on_duty")
    closed = ServiceLoad(on_duty=0, free=0, free_places=0, service_open=False)
    assert estimate_wait(1, closed) == WaitEstimate("closed")


def test_counsellors_on_duty_outside_hours_are_still_counted() -> None:
    late = ServiceLoad(on_duty=1, free=1, free_places=1, service_open=False)
    assert estimate_wait(1, late).outlook == "shortly"


def test_everyone_busy_gives_a_rounded_range_and_its_midpoint() -> None:
    wait = estimate_wait(1, BUSY)
    assert wait.outlook == "busy"
    assert wait.range_s is not None
    low, high = wait.range_s
    # Capacity 6 chats over a 20-minute median: a place every 200 s; claims: every 300 s.
    # Low: 200 s * 0.7 = 140 s, rounded down to 0. High: 300 s * 1.5 = 450 s, up to 600.
    assert (low, high) == (0, 600)
    assert low % STEP_S == 0 and high % STEP_S == 0
    assert wait.estimated_s == 300


def test_the_range_grows_with_the_place_in_line() -> None:
    fifth = estimate_wait(5, BUSY).range_s
    assert fifth is not None
    # 5 places: 1000 s * 0.7 = 700 s -> 600; 1500 s * 1.5 = 2250 s -> 2400.
    assert fifth == (600, 2400)
    tenth = estimate_wait(10, BUSY).range_s
    assert tenth is not None and tenth[0] > fifth[0] and tenth[1] > fifth[1]


def test_too_little_data_gives_busy_without_a_number() -> None:
    little = ServiceLoad(
        on_duty=2, free=0, free_places=0, max_chats=2, recent_claims=2, chat_lengths_s=(600.0,)
    )
    wait = estimate_wait(1, little)
    assert wait == WaitEstimate("busy")
    assert wait.estimated_s is None


def test_one_source_of_rate_is_enough() -> None:
    claims_only = ServiceLoad(on_duty=1, free=0, free_places=0, max_chats=1, recent_claims=6)
    # A claim every 10 minutes: 420 s -> 300, 900 s -> 900.
    assert estimate_wait(1, claims_only).range_s == (300, 900)
    lengths_only = ServiceLoad(
        on_duty=1, free=0, free_places=0, max_chats=1, chat_lengths_s=(1800.0,) * 3
    )
    # One chat at a time of 30 minutes: 1260 s -> 1200, 2700 s -> 2700.
    assert estimate_wait(1, lengths_only).range_s == (1200, 2700)


def test_a_long_queue_is_rounded_coarsely_and_a_very_long_one_gets_no_number() -> None:
    slow = ServiceLoad(
        on_duty=1, free=0, free_places=0, max_chats=1, recent_claims=3, chat_lengths_s=(2400.0,) * 4
    )
    # Position 4: every 20 to 40 minutes: 4 * 1200 * 0.7 = 3360 s; 4 * 2400 * 1.5 = 14400 s.
    wait = estimate_wait(4, slow)
    assert wait.range_s == (2700, 14400)
    assert all(v % LONG_STEP_S == 0 for v in wait.range_s)
    # Position 40: the low end alone is past three hours: busy, and no false figure.
    far = estimate_wait(40, slow)
    assert far == WaitEstimate("busy")


loads = st.builds(
    ServiceLoad,
    on_duty=st.integers(0, 20),
    free=st.integers(0, 20),
    free_places=st.integers(-5, 40),
    service_open=st.booleans(),
    max_chats=st.integers(1, 4),
    recent_claims=st.integers(0, 200),
    chat_lengths_s=st.lists(st.floats(0, 7200), max_size=8).map(tuple),
)


@given(st.integers(1, 200), loads)
def test_any_estimate_is_honest_in_shape(position: int, load: ServiceLoad) -> None:
    wait = estimate_wait(position, load)
    if load.on_duty == 0:
        assert wait.outlook in ("nobody_on_duty", "closed") and wait.range_s is None
    elif wait.outlook == "shortly":
        assert position <= load.free_places and wait.range_s is None
    else:
        assert wait.outlook == "busy"
    if wait.range_s is not None:
        low, high = wait.range_s
        assert 0 <= low < high and low % STEP_S == 0 and high % STEP_S == 0
        assert wait.estimated_s is not None and low <= wait.estimated_s <= high
        assert wait.estimated_s % 60 == 0
    else:
        assert wait.estimated_s is None
