"""1. Relay person -> counsellor at N live chats, against the echo server, the bare relay
and the gateway, with the same clients.

Gateway setup goes through the protocol: each person opens the widget, presses
"Talk to a person" (and "Wait" when nobody is free), writes one line while
waiting, and drops the socket (a queued person who stays connected is sent a
new position on every change of the queue, which would make setting up N chats
cost N^2 queue reads). A dashboard's first ``queue`` frame maps each line to its
session id; counsellors claim their chats through the HTTP claim route; then each
person comes back (hello with the token) and each chat's counsellor socket
opens. Then:

* saturation: every person sends as soon as its previous message is acked;
  messages/s reaching the counsellor sockets;
* fixed rate: ``rate`` messages/s over all chats; latency from the person's send
  to the counsellor socket's ``message`` frame.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.clients import now
from bench.databases import PASSWORD, counsellor_names
from bench.harness import Bench, Gateway, Row, sleep_until
from bench.scenarios.people import marker_text, w_queue_people
from bench.scenarios.relay_worker import w_chat_keys, w_fixed_rate, w_open_chats, w_saturate
from bench.staff import Counsellor, close_all, queue_snapshot, sign_in_all
from bench.stats import latency_ms, rate
from bench.workers import WorkerPool

ChatSpec = tuple[str, int | str | None, str | None]


def _keys(bench: Bench) -> list[list[str]]:
    """Chat keys per client process (``w0-17``: the 18th chat of process 0)."""
    workers, chats = bench.config.workers, bench.config.chats
    return [[f"w{w}-{i}" for i in range(w, chats, workers)] for w in range(workers)]


async def run(bench: Bench) -> None:
    if bench.config.baselines:
        for kind in ("echo", "relay"):
            unit = bench.unit("relay", kind)
            async with unit, bench.baseline(kind) as server, bench.pool() as pool:
                specs: list[list[ChatSpec]] = [
                    [(key, key, None) for key in keys] for keys in _keys(bench)
                ]
                await _open_chats(bench, pool, kind, server.ws, specs)
                await _measure(bench, pool, [server.pid])
    for backend in bench.config.backends:
        unit = bench.unit("relay", "gateway", backend)
        async with unit, bench.gateway(backend, "relay") as gw, bench.pool() as pool:
            await _setup_gateway(bench, pool, gw)
            await _measure(bench, pool, gw.pids)


async def _open_chats(
    bench: Bench, pool: WorkerPool, mode: str, base_ws: str, specs: list[list[ChatSpec]]
) -> float:
    cfg = bench.config
    started = now()
    results = await pool.call(
        w_open_chats,
        [
            {
                "mode": mode,
                "base_ws": base_ws,
                "chats": chats,
                "concurrency": cfg.setup_concurrency,
                "timeout_s": cfg.step_timeout_s,
            }
            for chats in specs
        ],
    )
    _check(bench, "opening chats", results)
    return now() - started


def _check(bench: Bench, what: str, results: list[dict[str, Any]]) -> int:
    ok = int(sum(r["ok"] for r in results))
    failed = sum(r["failed"] for r in results)
    if failed:
        errors = [e for r in results for e in r["errors"]][:3]
        bench.note(f"{what}: {failed} of {ok + failed} failed, e.g. {errors}")
    if not ok:
        raise RuntimeError(f"{what}: nothing succeeded")
    return ok


async def _setup_gateway(bench: Bench, pool: WorkerPool, gw: Gateway) -> None:
    cfg = bench.config
    server = gw.first
    counsellors = await sign_in_all(server.http, counsellor_names(cfg.relay_counsellors), PASSWORD)
    try:
        keys = _keys(bench)
        started = now()
        queued = await pool.call(
            w_queue_people,
            [
                {
                    "people": [(key, server.ws) for key in worker_keys],
                    "marker": True,
                    "keep_open": False,
                    "concurrency": cfg.setup_concurrency,
                    "timeout_s": cfg.step_timeout_s,
                }
                for worker_keys in keys
            ],
        )
        queue_s = now() - started
        queued_ok = _check(bench, "joining the queue", queued)

        rows = await queue_snapshot(server.ws, counsellors[0].cookie, cfg.step_timeout_s)
        session_of = {row["preview"]: int(row["session_id"]) for row in rows}
        started = now()
        owners = await _claim_all(bench, counsellors, keys, session_of)
        claim_s = now() - started

        specs: list[list[ChatSpec]] = [
            [
                (key, session_of[marker_text(key)], owners[key].cookie)
                for key in worker_keys
                if key in owners
            ]
            for worker_keys in keys
        ]
        attach_s = await _open_chats(bench, pool, "gateway", server.ws, specs)
        bench.add(
            {
                "phase": "setup",
                "chats": len(owners),
                "queue_s": round(queue_s, 1),
                "queued_per_s": rate(queued_ok, queue_s),
                "claims_per_s": rate(len(owners), claim_s),
                "attach_s": round(attach_s, 1),
                "attached_per_s": rate(len(owners), attach_s),
            }
        )
    finally:
        await close_all(counsellors)


async def _claim_all(
    bench: Bench,
    counsellors: list[Counsellor],
    keys: list[list[str]],
    session_of: dict[str, int],
) -> dict[str, Counsellor]:
    """Counsellor i claims every len(counsellors)-th chat, one after another; all
    counsellors at once. Returns the owner of every chat claimed."""
    everyone = [key for worker_keys in keys for key in worker_keys]
    missing = [key for key in everyone if marker_text(key) not in session_of]
    if missing:
        bench.note(f"{len(missing)} queued people not found in the queue, e.g. {missing[:3]}")
    wanted = [key for key in everyone if marker_text(key) in session_of]
    owners: dict[str, Counsellor] = {}
    outcomes: dict[str, int] = {}

    async def claims_of(index: int, counsellor: Counsellor) -> None:
        for key in wanted[index :: len(counsellors)]:
            outcome = await counsellor.claim(session_of[marker_text(key)])
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if outcome == "won":
                owners[key] = counsellor

    await asyncio.gather(*(claims_of(i, c) for i, c in enumerate(counsellors)))
    if len(owners) != len(wanted):
        bench.note(f"claims: {outcomes}")
    return owners


def _summarise(reports: list[dict[str, Any]], window: tuple[float, float], chats: int) -> Row:
    deliveries = [pair for r in reports for pair in r["deliveries"]]
    acks = [pair for r in reports for pair in r["acks"]]
    start, stop = window
    seconds = stop - start
    sent_in_window = [received - sent for sent, received in deliveries if start <= sent < stop]
    acks_in_window = [received - sent for sent, received in acks if start <= sent < stop]
    return {
        "chats": chats,
        "delivered_per_s": rate(sum(1 for _, r in deliveries if start <= r < stop), seconds),
        "acks_per_s": rate(sum(1 for _, r in acks if start <= r < stop), seconds),
        **latency_ms(sent_in_window),
        **latency_ms(acks_in_window, "ack_"),
        "errors": sum(r["errors"] for r in reports),
        "lost": sum(r["lost"] for r in reports),
    }


async def _measure(bench: Bench, pool: WorkerPool, server_pids: list[int]) -> None:
    cfg = bench.config
    chats = sum(len(c) for c in await pool.call(w_chat_keys))
    # The next phase starts only once what this one sent has arrived (or this long after).
    drain = 3.0 if cfg.quick else 30.0

    # (a) saturation
    start = now() + cfg.lead_s
    window = (start + cfg.warmup_s, start + cfg.warmup_s + cfg.saturation_s)
    call = asyncio.create_task(
        pool.call(w_saturate, {"start_at": start, "stop_at": window[1], "drain_s": drain})
    )
    await sleep_until(window[0])
    async with bench.cpu(server_pids, pool.pids) as cpu:
        await sleep_until(window[1])
    reports = await call
    drained = [r["drained_s"] for r in reports]
    backlog = None if None in drained else round(max(drained), 1)
    bench.add(
        {
            "phase": "saturation",
            **_summarise(reports, window, chats),
            "backlog_drain_s": backlog,
            **cpu,
        }
    )

    # (b) a fixed offered rate, all chats together
    start = now() + cfg.lead_s
    window = (start, start + cfg.fixed_s)
    call = asyncio.create_task(
        pool.call(
            w_fixed_rate,
            {
                "start_at": start,
                "stop_at": window[1],
                "rate": cfg.rate / pool.size,
                "drain_s": drain,
            },
        )
    )
    await sleep_until(window[0])
    async with bench.cpu(server_pids, pool.pids) as cpu:
        await sleep_until(window[1])
    reports = await call
    bench.add(
        {
            "phase": f"fixed {cfg.rate:g}/s",
            "offered_per_s": cfg.rate,
            **_summarise(reports, window, chats),
            "client_behind_ms": round(max(r["client_behind_s"] for r in reports) * 1000, 1),
            **cpu,
        }
    )
