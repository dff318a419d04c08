"""The per-address connection cap and its hold-off (gateway/ratelimit.py), on a fake clock.

Over a real server: tests/gateway/test_limits.py (the cap, then HTTP 429 at the
handshake) and tests/faults/test_flood_fairness.py (a flood from one address).
"""

from __future__ import annotations

from gateway.ratelimit import Admit, ConnectionCounter

A, B = "192.0.2.1", "192.0.2.2"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_address_over_its_cap_is_refused_once_then_held_off_for_a_while() -> None:
    clock = Clock()
    counter = ConnectionCounter(2, hold_off_s=1.0, clock=clock)
    assert [counter.acquire(A), counter.acquire(A)] == [Admit.OPEN, Admit.OPEN]
    assert counter.acquire(A) is Admit.OVER_CAP
    assert counter.held_for(A) == 1.0
    # Held off even after a connection of its own ends: the hold-off is about the
    # attempts, not the count.
    counter.release(A)
    clock.now += 0.5
    assert counter.acquire(A) is Admit.HELD_OFF
    assert counter.held_for(A) == 0.5
    # Another address is not touched.
    assert counter.acquire(B) is Admit.OPEN
    clock.now += 0.5
    assert counter.held_for(A) == 0.0
    assert counter.acquire(A) is Admit.OPEN
    assert counter.acquire(A) is Admit.OVER_CAP  # at its cap again: held off anew
    assert counter.acquire(A) is Admit.HELD_OFF


def test_a_held_off_attempt_is_not_counted_and_a_release_frees_the_cap() -> None:
    clock = Clock()
    counter = ConnectionCounter(1, hold_off_s=1.0, clock=clock)
    assert counter.acquire(A) is Admit.OPEN
    assert counter.acquire(A) is Admit.OVER_CAP
    for _ in range(50):
        assert counter.acquire(A) is Admit.HELD_OFF
    counter.release(A)
    clock.now += 1.0
    assert counter.acquire(A) is Admit.OPEN
    counter.release(A)
    assert counter.acquire(A) is Admit.OPEN


def test_the_hold_offs_kept_are_bounded_whatever_the_number_of_addresses() -> None:
    clock = Clock()
    counter = ConnectionCounter(1, hold_off_s=10.0, max_held=100, clock=clock)
    addresses = [f"10.0.{n // 256}.{n % 256}" for n in range(1_000)]
    for address in addresses:
        assert counter.acquire(address) is Admit.OPEN
        assert counter.acquire(address) is Admit.OVER_CAP
        assert len(counter._held) <= 100
    # The most recent are held off; the oldest were let go to keep memory bounded.
    assert counter.acquire(addresses[-1]) is Admit.HELD_OFF
    assert counter.acquire(addresses[0]) is Admit.OVER_CAP
    # Expired hold-offs are the first to go.
    clock.now += 11.0
    counter.acquire("10.9.9.9")
    counter.acquire("10.9.9.9")
    assert list(counter._held) == ["10.9.9.9"]


def test_places_to_wait_out_a_refusal_are_bounded() -> None:
    counter = ConnectionCounter(1, max_waiting=3)
    assert [counter.take_waiting() for _ in range(4)] == [True, True, True, False]
    counter.done_waiting()
    assert counter.take_waiting() is True
    assert counter.waiting == 3


def test_new_connections_are_paced_per_address_open_and_closed_alike() -> None:
    clock = Clock()
    counter = ConnectionCounter(2, per_minute=60, hold_off_s=1.0, clock=clock)
    # A burst of twice the cap, opened and closed at once, never reaching the cap.
    for _ in range(4):
        assert counter.acquire(A) is Admit.OPEN
        counter.release(A)
    assert counter.acquire(A) is Admit.HELD_OFF  # over the pace: held off at once
    assert counter.acquire(B) is Admit.OPEN  # another address has its own pace
    clock.now += 1.0  # the hold-off is over and a second's worth (one) is back
    assert counter.acquire(A) is Admit.OPEN
    counter.release(A)
    assert counter.acquire(A) is Admit.HELD_OFF
    clock.now += 10.0
    for _ in range(4):  # ten seconds give back the whole burst, never more
        assert counter.acquire(A) is Admit.OPEN
        counter.release(A)
    assert counter.acquire(A) is Admit.HELD_OFF


def test_no_pace_when_it_is_turned_off_and_the_buckets_kept_are_bounded() -> None:
    clock = Clock()
    unpaced = ConnectionCounter(2, clock=clock)
    for _ in range(1_000):
        assert unpaced.acquire(A) is Admit.OPEN
        unpaced.release(A)
    paced = ConnectionCounter(1, per_minute=60, max_held=50, clock=clock)
    for n in range(500):
        address = f"10.1.{n // 256}.{n % 256}"
        assert paced.acquire(address) is Admit.OPEN
        paced.release(address)
        assert len(paced._pace) <= 50
    clock.now += 60.0  # every bucket is full again: all forgotten to make room
    paced.acquire("10.9.9.9")
    assert list(paced._pace) == ["10.9.9.9"]


def test_open_counts_every_address() -> None:
    counter = ConnectionCounter(3)
    for address in (A, A, B):
        assert counter.acquire(address) is Admit.OPEN
    assert counter.open == 3
    counter.release(A)
    counter.release(B)
    assert counter.open == 1
