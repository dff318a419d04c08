"""A bound on password hashing: a few Argon2 runs at once, a short queue, then "busy".

Argon2id is slow and memory-hard on purpose (about 64 MiB and a good fraction
of a second per run with the library's defaults). Run without a bound, a flood
of wrong passwords fills every worker thread with it: the real counsellor's
sign-in waits behind the flood and everybody's messages wait for the CPU. So at
most ``concurrency`` runs happen at once, at most ``queue`` more wait for a
turn, and anything beyond that is refused at once with ``PasswordWorkBusy``,
which the sign-in page answers with a plain "busy, try again in a moment".

One ``PasswordWork`` per process (``Services.passwords``); it counts what it did
(the most runs at once, the most waiting, refusals) so tests and metrics can see
that the bound held.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class PasswordWorkBusy(Exception):
    """Too much password hashing is running or waiting: answer "busy", do not queue."""


def default_concurrency() -> int:
    """Half the CPUs (at least one): the rest stay free for the chats themselves."""
    return max(1, (os.cpu_count() or 2) // 2)


@dataclass
class PasswordWorkStats:
    peak_running: int = 0
    peak_waiting: int = 0
    refused: int = 0
    completed: int = 0


class PasswordWork:
    """Runs password hashing in worker threads, ``concurrency`` at a time."""

    def __init__(self, concurrency: int, queue: int) -> None:
        if concurrency < 1 or queue < 0:
            raise ValueError("concurrency must be at least 1 and queue at least 0")
        self.concurrency = concurrency
        self.queue = queue
        self._slots = asyncio.Semaphore(concurrency)
        self._running = 0
        self._waiting = 0
        self.stats = PasswordWorkStats()

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return self._waiting

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` in a worker thread once a slot is free; busy if the queue is full."""
        if self._slots.locked() and self._waiting >= self.queue:
            self.stats.refused += 1
            raise PasswordWorkBusy
        self._waiting += 1
        self.stats.peak_waiting = max(self.stats.peak_waiting, self._waiting)
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        self._running += 1
        self.stats.peak_running = max(self.stats.peak_running, self._running)
        # The slot is held until the thread is done, even if the request that asked
        # for it goes away: a client that hangs up cannot leave hashing unbounded.
        work = asyncio.ensure_future(asyncio.to_thread(fn, *args))
        work.add_done_callback(self._finished)
        return await asyncio.shield(work)

    def _finished(self, work: asyncio.Future[Any]) -> None:
        if not work.cancelled():
            work.exception()  # retrieved here when the request went away before it
        self._running -= 1
        self.stats.completed += 1
        self._slots.release()
