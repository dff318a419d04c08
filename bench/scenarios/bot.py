"""2. Bot reply latency, typing pause off: one person turn after turn, then many people at
one turn a second each. The echo server (the ack, no bot, no database) is the floor."""

from __future__ import annotations

import asyncio

from bench.clients import now
from bench.harness import Bench, Row, sleep_until, split
from bench.scenarios.bot_worker import w_open_people, w_talk, w_turns
from bench.stats import latency_ms


async def run(bench: Bench) -> None:
    if bench.config.baselines:
        async with bench.unit("bot", "echo"), bench.baseline("echo") as server:
            await _measure(bench, server.ws, [server.pid], echo=True)
    for backend in bench.config.backends:
        async with bench.unit("bot", "gateway", backend), bench.gateway(backend, "bot") as gw:
            await _measure(bench, gw.first.ws, gw.pids, echo=False)


def _latencies(result: Row) -> Row:
    return {
        **latency_ms(result["replies"]),
        **latency_ms(result["turns"], "turn_"),
        "failed": result["failed"],
    }


async def _measure(bench: Bench, base_ws: str, server_pids: list[int], *, echo: bool) -> None:
    cfg = bench.config
    timeout_s = cfg.step_timeout_s
    async with bench.pool(1) as pool:
        await pool.call(
            w_open_people,
            {"base_ws": base_ws, "echo": echo, "keys": ["solo"], "timeout_s": timeout_s},
        )
        async with bench.cpu(server_pids, pool.pids) as cpu:
            (solo,) = await pool.call(w_turns, {"turns": cfg.bot_turns, "timeout_s": timeout_s})
        bench.add({"phase": "1 person", "people": 1, **_latencies(solo), **cpu})

    people = [f"p{n}" for n in range(cfg.bot_people)]
    async with bench.pool() as pool:
        groups = split(people, pool.size)
        await pool.call(
            w_open_people,
            [
                {"base_ws": base_ws, "echo": echo, "keys": keys, "timeout_s": timeout_s}
                for keys in groups
            ],
        )
        # Spread the people evenly over each second.
        offsets = [[people.index(key) / len(people) for key in keys] for keys in groups]
        start = now() + cfg.lead_s
        stop = start + cfg.bot_people_s
        call = asyncio.create_task(
            pool.call(
                w_talk,
                [
                    {
                        "start_at": start,
                        "stop_at": stop,
                        "period_s": 1.0,
                        "offsets": group_offsets,
                        "timeout_s": timeout_s,
                    }
                    for group_offsets in offsets
                ],
            )
        )
        await sleep_until(start)
        async with bench.cpu(server_pids, pool.pids) as cpu:
            results = await call
        merged: Row = {
            "replies": [r for result in results for r in result["replies"]],
            "turns": [r for result in results for r in result["turns"]],
            "failed": sum(result["failed"] for result in results),
        }
        bench.add(
            {
                "phase": f"{len(people)} people, 1 turn/s each",
                "people": len(people),
                **_latencies(merged),
                "late": sum(result["late"] for result in results),
                **cpu,
            }
        )
