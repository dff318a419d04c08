"""The bound on password hashing (gateway/password_work.py), without a server: at most
``concurrency`` runs, a line of at most ``queue`` each, "busy" beyond, and a known
browser's line served first."""

from __future__ import annotations

import asyncio
import threading

import pytest

from gateway.password_work import PasswordWork, PasswordWorkBusy

pytestmark = pytest.mark.asyncio


async def test_runs_are_bounded_lines_are_short_and_a_known_browser_goes_first() -> None:
    work = PasswordWork(concurrency=1, queue=1)
    release = threading.Event()
    order: list[str] = []

    def hashing(name: str) -> str:
        if name == "flood 1":
            release.wait(30)
        order.append(name)
        return name

    holding = asyncio.create_task(work.run(hashing, "flood 1"))
    waiting = asyncio.create_task(work.run(hashing, "flood 2"))
    while work.waiting < 1:
        await asyncio.sleep(0.01)
    # The strangers' line is full: the next stranger is told "busy" at once ...
    with pytest.raises(PasswordWorkBusy):
        await work.run(hashing, "flood 3")
    # ... while the counsellor's known browser waits in its own line, served first.
    counsellor = asyncio.create_task(work.run(hashing, "counsellor", first=True))
    while work.waiting < 2:
        await asyncio.sleep(0.01)
    assert (work.running, work.waiting) == (1, 2)
    release.set()
    assert await asyncio.gather(holding, counsellor, waiting) == [
        "flood 1",
        "counsellor",
        "flood 2",
    ]
    assert order == ["flood 1", "counsellor", "flood 2"]
    assert (work.stats.peak_running, work.stats.refused, work.stats.completed) == (1, 1, 3)
    assert (work.running, work.waiting) == (0, 0)


async def test_a_request_that_goes_away_keeps_its_slot_until_the_thread_ends() -> None:
    work = PasswordWork(concurrency=1, queue=0)
    release = threading.Event()
    abandoned = asyncio.create_task(work.run(release.wait, 30))
    while work.running < 1:
        await asyncio.sleep(0.01)
    abandoned.cancel()
    with pytest.raises(asyncio.CancelledError):
        await abandoned
    # The thread still runs, so its slot is still taken: no second run starts.
    assert work.running == 1
    with pytest.raises(PasswordWorkBusy):
        await work.run(str, "next")
    release.set()
    while work.running:
        await asyncio.sleep(0.01)
    assert await work.run(str, "next") == "next"
