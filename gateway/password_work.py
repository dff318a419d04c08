"""A bound on password hashing: a few Argon2 runs at once, a short queue, then "busy".

Argon2id is slow and memory-hard on purpose (about 64 MiB and a good fraction
of a second per run with the library's defaults). Run without a bound, a flood
of wrong passwords fills every worker thread with it: the real counsellor's
sign-in waits behind the flood and everybody's messages wait for the CPU. So at
most ``concurrency`` runs happen at once, at most ``queue`` more wait for a
turn in each line, and anything beyond that is refused at once with ``PasswordWorkBusy``,
which the sign-in page answers with a plain "busy, try again in a moment".

One ``PasswordWork`` per process (``Services.passwords``); it counts what it did
(the most runs at once, the most waiting, refusals) so tests and metrics can see
that the bound held.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
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
    """Runs password hashing in worker threads, ``concurrency`` at a time.

    Two waiting lines, each at most ``queue`` long: ``first`` (a browser this account
    signed in from before, ``SignInLimits.recognises``) and everyone else. A free slot
    goes to the first line before the other, so a flood of strangers' guesses, which
    can only fill the other line, cannot keep a counsellor on their own browser out.
    """

    def __init__(self, concurrency: int, queue: int) -> None:
        if concurrency < 1 or queue < 0:
            raise ValueError("concurrency must be at least 1 and queue at least 0")
        self.concurrency = concurrency
        self.queue = queue
        self._free = concurrency
        self._lines: tuple[deque[asyncio.Future[None]], ...] = (deque(), deque())
        self._running = 0
        self.stats = PasswordWorkStats()

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return sum(len(line) for line in self._lines)

    async def run(self, fn: Callable[..., T], *args: object, first: bool = False) -> T:
        """``fn(*args)`` in a worker thread once a slot is free; busy if the line is full."""
        line = self._lines[0 if first else 1]
        if self._free:
            self._free -= 1
        elif len(line) >= self.queue:
            self.stats.refused += 1
            raise PasswordWorkBusy
        else:
            turn = asyncio.get_running_loop().create_future()
            line.append(turn)
            self.stats.peak_waiting = max(self.stats.peak_waiting, self.waiting)
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():
                    self._release()  # handed a slot just as the request went away: pass it on
                else:
                    line.remove(turn)
                raise
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
        self._release()

    def _release(self) -> None:
        """Hand the slot to the next in the first line, else the other, else free it."""
        for line in self._lines:
            while line:
                turn = line.popleft()
                if not turn.done():
                    turn.set_result(None)
                    return
        self._free += 1
