"""The tasks of one live connection, watched together.

A connection is a reader (frames in), a pump (events out) and the work the
process's hub hands it on each heartbeat (presence, resync, idle). The
supervisor runs them as one: when any of them ends or fails, the others are
cancelled and the failure is raised to the connection, which closes with a
code that says why. Nothing fails silently while the socket stays open.

Each step (a frame, an event, a tick) runs to its end even if the
connection is torn down meanwhile: a unit of work cancelled half-way could
leave a group commit waiting on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from gateway.live.socket import QUIET


class Supervisor:
    def __init__(self) -> None:
        self._steps: set[asyncio.Future[None]] = set()
        self._failure: asyncio.Future[None] | None = None

    async def step(self, work: Coroutine[Any, Any, None]) -> None:
        """Run one step to its end, shielded from the connection's cancellation."""
        step = asyncio.ensure_future(work)
        self._steps.add(step)
        step.add_done_callback(self._steps.discard)
        await asyncio.shield(step)

    def background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run a step beside the reader and pump; if it fails, the connection ends."""
        step = asyncio.ensure_future(work)
        self._steps.add(step)
        step.add_done_callback(self._background_done)

    def _background_done(self, step: asyncio.Future[None]) -> None:
        self._steps.discard(step)
        if step.cancelled():
            return
        exc = step.exception()
        if exc is not None:
            self.fail(exc)

    def fail(self, exc: BaseException) -> None:
        """End the connection because of ``exc`` (from any task, or the hub)."""
        if self._failure is not None and not self._failure.done():
            self._failure.set_exception(exc)

    async def run(self, *work: Coroutine[Any, Any, None]) -> None:
        """Run the connection's tasks until one ends; raise the first real failure."""
        self._failure = asyncio.get_running_loop().create_future()
        tasks = [asyncio.ensure_future(w) for w in work]
        try:
            await asyncio.wait([*tasks, self._failure], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, *self._steps, return_exceptions=True)
            failure = self._failure
            self._failure = None
            if not failure.done():
                failure.cancel()
        if not failure.cancelled() and failure.exception() is not None:
            results.insert(0, failure.exception())
        for result in results:
            if isinstance(result, BaseException) and not isinstance(
                result, (*QUIET, asyncio.CancelledError)
            ):
                raise result
