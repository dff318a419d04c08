"""Worker side: people who open the widget and join the counsellor queue (the protocol way)."""

from __future__ import annotations

import asyncio
from typing import Any

from bench.clients import Conn, Frame, bot_done, join_queue, now, open_widget, say
from bench.workers import WorkerContext


def marker_text(key: str) -> str:
    """What a waiting person writes: the queue row's preview tells the bench who it is."""
    return f"bench chat {key}"


def ignore(_frame: Frame, _at: float) -> None:
    return None


def summary(durations: list[float], failures: list[BaseException]) -> dict[str, Any]:
    return {
        "ok": len(durations),
        "failed": len(failures),
        "errors": [repr(f)[:300] for f in failures[:3]],
        "durations": durations,
    }


async def w_queue_people(
    ctx: WorkerContext,
    *,
    people: list[tuple[str, str]],
    marker: bool,
    keep_open: bool,
    concurrency: int,
    timeout_s: float,
) -> dict[str, Any]:
    """For each (key, server url): hello, the greeting, with ``marker`` one line to the
    bot, then "Talk to a person" (and "Wait" if nobody is free). Once queued the person
    stays connected (``keep_open``) or drops the socket; the token is kept either way.

    A queued person's socket is sent a new position at every change of the queue, so
    people who do not stay leave at once: setting up N chats stays O(N) queue reads."""
    tokens: dict[str, tuple[str, int]] = ctx.state.setdefault("tokens", {})
    kept: dict[str, Conn] = ctx.state.setdefault("people", {})
    gate = asyncio.Semaphore(concurrency)
    durations: list[float] = []

    async def one(key: str, base_ws: str) -> None:
        async with gate:
            started = now()
            conn, welcome = await open_widget(base_ws, timeout_s=timeout_s)
            try:
                await conn.until(bot_done, timeout_s)
                if marker:
                    # Written before joining: the queue row's preview is the last thing the
                    # person wrote, and the socket can leave as soon as the person is queued.
                    await conn.send(say(f"{key}-m", marker_text(key)))
                    await conn.until(bot_done, timeout_s)
                await join_queue(conn, key, timeout_s, marker_text(key) if marker else None)
            except BaseException:
                await conn.close()
                raise
            tokens[key] = (str(welcome["token"]), conn.last_seq)
            if keep_open:
                conn.handler = ignore
                conn.drain()
                kept[key] = conn
            else:
                await conn.close()
            durations.append(now() - started)

    results = await asyncio.gather(*(one(k, u) for k, u in people), return_exceptions=True)
    return summary(durations, [r for r in results if isinstance(r, BaseException)])
