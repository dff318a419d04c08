"""4. Claims per second under contention: S people wait in the queue (joined through the
protocol), K counsellors go down the same list of sessions at the same time, each
posting the claim form for every one. Exactly one claim per session may win; the
others are told who was first.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter

from bench.clients import now
from bench.databases import PASSWORD, counsellor_names
from bench.harness import Bench, Gateway
from bench.scenarios.people import w_queue_people
from bench.staff import Counsellor, close_all, queue_snapshot, sign_in_all
from bench.stats import latency_ms, rate


async def run(bench: Bench) -> None:
    for backend in bench.config.backends:
        async with bench.unit("claims", "gateway", backend), bench.gateway(backend, "claims") as gw:
            await _measure(bench, gw)


async def _measure(bench: Bench, gw: Gateway) -> None:
    cfg = bench.config
    server = gw.first
    counsellors = await sign_in_all(server.http, counsellor_names(cfg.claim_counsellors), PASSWORD)
    try:
        async with bench.pool() as pool:
            people = [(f"q{n}", server.ws) for n in range(cfg.claim_sessions)]
            await pool.call(
                w_queue_people,
                [
                    {
                        "people": people[w :: pool.size],
                        "marker": False,
                        "keep_open": False,
                        "concurrency": cfg.setup_concurrency,
                        "timeout_s": cfg.step_timeout_s,
                    }
                    for w in range(pool.size)
                ],
            )
        rows = await queue_snapshot(server.ws, counsellors[0].cookie, cfg.step_timeout_s)
        sessions = [int(row["session_id"]) for row in rows]
        outcomes: list[tuple[int, str, float]] = []

        async def race(counsellor: Counsellor) -> None:
            for session_id in sessions:
                started = now()
                outcome = await counsellor.claim(session_id)
                outcomes.append((session_id, outcome, now() - started))

        async with bench.cpu(gw.pids, [os.getpid()]) as cpu:
            started = now()
            await asyncio.gather(*(race(c) for c in counsellors))
            seconds = now() - started
    finally:
        await close_all(counsellors)
    wins = Counter(session_id for session_id, outcome, _ in outcomes if outcome == "won")
    kinds = Counter(outcome for _, outcome, _ in outcomes)
    bench.add(
        {
            "phase": "race",
            "counsellors": len(counsellors),
            "sessions": len(sessions),
            "won": kinds["won"],
            "taken": kinds["taken"],
            "refused": kinds["refused"],
            "claims_per_s": rate(kinds["won"], seconds),
            "attempts_per_s": rate(len(outcomes), seconds),
            **latency_ms([latency for *_, latency in outcomes]),
            "sessions_won_twice": sum(1 for n in wins.values() if n > 1),
            "sessions_not_won": len(sessions) - len(wins),
            **cpu,
        }
    )
