"""Client processes: one Python process cannot drive 1,000 chats or 10,000 sockets alone.

Each worker is a spawned process running its own event loop (uvloop when
installed). The coordinator calls module-level async functions in every worker
(``await pool.call(fn, [kwargs per worker])``); a function receives the
worker's ``WorkerContext`` whose ``state`` keeps connections open between calls,
so a scenario can set up, measure, and measure again on the same sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import resource
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

WorkerFn = Callable[..., Awaitable[Any]]


class WorkerError(RuntimeError):
    """A worker function raised; the message carries its traceback."""


@dataclass
class WorkerContext:
    index: int
    count: int
    state: dict[str, Any] = field(default_factory=dict)


def raise_nofile(wanted: int) -> int:
    """Raise this process's open-file limit towards ``wanted`` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def run_loop(main: Awaitable[None]) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        asyncio.run(main)  # type: ignore[arg-type]
    else:
        uvloop.run(main)  # type: ignore[arg-type]


def _worker_main(conn: Connection, index: int, count: int, nofile: int) -> None:
    raise_nofile(nofile)
    run_loop(_serve(conn, WorkerContext(index, count)))


async def _serve(conn: Connection, ctx: WorkerContext) -> None:
    loop = asyncio.get_running_loop()
    while True:
        message = await loop.run_in_executor(None, conn.recv)
        if message is None:
            break
        fn, kwargs = message
        try:
            reply: tuple[str, Any] = ("ok", await fn(ctx, **kwargs))
        except Exception:
            reply = ("error", traceback.format_exc())
        conn.send(reply)
    # Sockets still open are dropped with the process: the server is stopped next.


async def _ready(ctx: WorkerContext) -> int:
    # Import what every scenario's worker side uses before anything is measured.
    import bench.clients  # noqa: F401

    return ctx.index


class WorkerPool:
    def __init__(self, count: int, nofile: int) -> None:
        mp = multiprocessing.get_context("spawn")
        self._pipes: list[Connection] = []
        self._procs: list[multiprocessing.process.BaseProcess] = []
        for index in range(count):
            parent, child = mp.Pipe()
            proc = mp.Process(target=_worker_main, args=(child, index, count, nofile), daemon=True)
            proc.start()
            child.close()
            self._pipes.append(parent)
            self._procs.append(proc)

    @property
    def size(self) -> int:
        return len(self._procs)

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in self._procs if proc.pid is not None]

    async def call(
        self,
        fn: WorkerFn,
        kwargs: dict[str, Any] | Sequence[dict[str, Any]] | None = None,
        *,
        timeout_s: float = 600.0,
    ) -> list[Any]:
        """Run ``fn(ctx, **kwargs)`` in every worker at once; their results in order.

        ``kwargs`` is one dict for all, or one per worker.
        """
        per_worker = [kwargs or {}] * self.size if not isinstance(kwargs, Sequence) else kwargs
        if len(per_worker) != self.size:
            raise ValueError(f"{len(per_worker)} kwargs for {self.size} workers")
        for pipe, args in zip(self._pipes, per_worker, strict=True):
            pipe.send((fn, args))
        async with asyncio.timeout(timeout_s):
            replies = await asyncio.gather(*(asyncio.to_thread(pipe.recv) for pipe in self._pipes))
        errors = [detail for status, detail in replies if status != "ok"]
        if errors:
            raise WorkerError(errors[0])
        return [detail for _, detail in replies]

    async def call_one(
        self,
        index: int,
        fn: WorkerFn,
        kwargs: dict[str, Any] | None = None,
        *,
        timeout_s: float = 600.0,
    ) -> Any:
        """Run ``fn(ctx, **kwargs)`` in worker ``index`` only."""
        pipe = self._pipes[index]
        pipe.send((fn, kwargs or {}))
        async with asyncio.timeout(timeout_s):
            status, detail = await asyncio.to_thread(pipe.recv)
        if status != "ok":
            raise WorkerError(detail)
        return detail

    def close(self) -> None:
        for pipe in self._pipes:
            with contextlib.suppress(OSError):
                pipe.send(None)
        for proc in self._procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        for pipe in self._pipes:
            pipe.close()


@contextlib.asynccontextmanager
async def worker_pool(count: int, nofile: int) -> AsyncIterator[WorkerPool]:
    pool = WorkerPool(count, nofile)
    try:
        await pool.call(_ready, timeout_s=60)  # started and imported: ready to measure
        yield pool
    finally:
        await asyncio.to_thread(pool.close)
