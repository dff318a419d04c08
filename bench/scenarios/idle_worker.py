"""Worker side of the idle scenario: many widget sessions that say hello and then nothing."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from bench.clients import Conn, bot_done, now, open_widget
from bench.scenarios.people import ignore, summary
from bench.workers import WorkerContext


async def w_idle_open(
    ctx: WorkerContext,
    *,
    base_ws: str,
    count: int,
    greeting: bool,
    concurrency: int,
    timeout_s: float,
    deadline: float,
) -> dict[str, Any]:
    """Open ``count`` sessions: hello, welcome and (``greeting``) the bot's greeting.
    Whatever is not open by ``deadline`` (CLOCK_MONOTONIC) is given up."""
    conns: list[Conn] = ctx.state.setdefault("idle", [])
    gate = asyncio.Semaphore(concurrency)
    durations: list[float] = []

    async def one() -> None:
        async with gate:
            started = now()
            conn, _welcome = await open_widget(base_ws, timeout_s=timeout_s)
            try:
                if greeting:
                    await conn.until(bot_done, timeout_s)
            except BaseException:
                await conn.close()
                raise
            conn.handler = ignore
            conn.drain()
            conns.append(conn)
            durations.append(now() - started)

    tasks = [asyncio.create_task(one()) for _ in range(count)]
    done, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - now()))
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    failures = [e for t in done if (e := t.exception()) is not None]
    return {**summary(durations, failures), "given_up": len(pending)}


async def w_idle_status(ctx: WorkerContext) -> dict[str, Any]:
    """How many sessions are still open, and the close codes of the others."""
    conns: list[Conn] = ctx.state.get("idle", [])
    codes = Counter(str(c.close_code) for c in conns if not c.is_open)
    return {"open": sum(1 for c in conns if c.is_open), "closed": dict(codes)}
