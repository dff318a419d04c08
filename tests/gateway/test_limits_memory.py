"""The in-memory storage of the abuse limits (gateway/abuse/memory.py): the library's
counting, with an expiry pass that runs at most every few seconds, in one go."""

from __future__ import annotations

import asyncio

import pytest
from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter

from gateway.abuse.limits import AbuseLimits, Limit
from gateway.abuse.memory import PacedMemoryStorage
from gateway.settings import Settings


def test_the_library_still_has_the_hook_it_replaces() -> None:
    """If a release of ``limits`` renames its expiry hook, the override would
    silently stop working: this says so instead."""
    assert callable(getattr(MemoryStorage, "_MemoryStorage__schedule_expiry", None))


@pytest.mark.asyncio
async def test_hits_start_no_expiry_task_and_count_as_the_library_does() -> None:
    storage = PacedMemoryStorage()
    exact = MovingWindowRateLimiter(storage)
    item = parse("3/minute")
    answers = [await exact.hit(item, "sessions", f"k{n % 2}") for n in range(8)]
    assert answers == [True, True, True, True, True, True, False, False]
    assert storage.timer is None  # the library's pass never started
    counter = SlidingWindowCounterRateLimiter(storage)
    lines = parse("10/minute")
    assert await counter.hit(lines, "lines", "s1", cost=10)
    assert not await counter.hit(lines, "lines", "s1")


@pytest.mark.asyncio
async def test_expired_events_and_counters_are_dropped_at_the_next_pass() -> None:
    storage = PacedMemoryStorage(expiry_every_s=0.0)
    exact = MovingWindowRateLimiter(storage)
    counter = SlidingWindowCounterRateLimiter(storage)
    second = parse("2/second")
    for key in ("a", "b"):
        assert await exact.hit(second, "x", key)
        assert await exact.hit(second, "x", key)
        assert not await exact.hit(second, "x", key)
    assert await counter.hit(second, "y", "c")
    await asyncio.sleep(2.2)  # past the moving window and the counter's two windows
    assert await exact.hit(parse("5/minute"), "x", "fresh")  # runs a pass first
    kept = "".join(storage.events)
    assert "fresh" in kept and "/a" not in kept and "/b" not in kept
    assert not [key for key in storage.storage if "/c" in key]
    assert await exact.hit(second, "x", "a")  # a new window for an old key


@pytest.mark.asyncio
async def test_the_gateways_limits_count_in_it_and_close_cleanly() -> None:
    limits = AbuseLimits(Settings(env="development", limit_sessions_per_address="2/minute"))
    assert isinstance(limits.storage, PacedMemoryStorage)
    key = limits.address("192.0.2.1")
    answers = [await limits.hit(Limit.SESSIONS_PER_ADDRESS, key) for _ in range(3)]
    assert answers[:2] == [None, None]
    assert answers[2] is not None and answers[2].retry_after_s >= 1
    await limits.close()


@pytest.mark.asyncio
async def test_a_key_counted_over_and_over_holds_no_more_than_its_window() -> None:
    storage = PacedMemoryStorage()  # no full pass within this test
    exact = MovingWindowRateLimiter(storage)
    second = parse("1000/second")
    for _ in range(5):
        for _ in range(50):
            assert await exact.hit(second, "x", "address")
        await asyncio.sleep(1.05)
    assert await exact.hit(second, "x", "address")
    (events,) = storage.events.values()
    assert len(events) == 1  # the 250 before it had expired and were dropped
