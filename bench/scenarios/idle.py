"""5. Idle sessions: open N widget sessions in batches (hello, and the gateway's greeting),
then send nothing. The server's resident memory per session, its CPU over an idle
window, and how long each batch took to open (it must not grow as more are open),
beside the echo server holding as many idle connections."""

from __future__ import annotations

import asyncio

from bench.clients import now
from bench.harness import Bench
from bench.procstat import rss_kib
from bench.scenarios.idle_worker import w_idle_open, w_idle_status
from bench.servers import Server
from bench.workers import WorkerPool

WARM_UP = 10  # sessions per client process opened before the baseline is read


async def run(bench: Bench) -> None:
    if bench.config.baselines:
        async with bench.unit("idle", "echo"), bench.baseline("echo") as server:
            await _measure(bench, server, greeting=False)
    for backend in bench.config.backends:
        async with bench.unit("idle", "gateway", backend), bench.gateway(backend, "idle") as gw:
            await _measure(bench, gw.first, greeting=True)


async def _open(
    bench: Bench, pool: WorkerPool, server: Server, count: int, greeting: bool, deadline: float
) -> tuple[int, int, list[str]]:
    """Open ``count`` more sessions over the client processes: (opened, failed, some
    errors); what is not open by the deadline is given up."""
    cfg = bench.config
    shares = [count // pool.size + (1 if w < count % pool.size else 0) for w in range(pool.size)]
    results = await pool.call(
        w_idle_open,
        [
            {
                "base_ws": server.ws,
                "count": share,
                "greeting": greeting,
                "concurrency": cfg.setup_concurrency,
                "timeout_s": cfg.step_timeout_s,
                "deadline": deadline,
            }
            for share in shares
        ],
    )
    errors = [e for r in results for e in r["errors"]]
    return sum(r["ok"] for r in results), sum(r["failed"] for r in results), errors


async def _measure(bench: Bench, server: Server, *, greeting: bool) -> None:
    cfg = bench.config
    async with bench.pool() as pool:
        warm = WARM_UP * pool.size
        await _open(bench, pool, server, warm, greeting, now() + cfg.step_timeout_s)
        await asyncio.sleep(cfg.settle_s)
        rss_before = rss_kib(server.pid)
        batches: list[float] = []
        sizes: list[int] = []
        opened = 0
        deadline = now() + cfg.idle_open_budget_s
        while opened < cfg.idle_sessions and now() < deadline:
            size = min(cfg.idle_batch, cfg.idle_sessions - opened)
            started = now()
            ok, failed, errors = await _open(bench, pool, server, size, greeting, deadline)
            batches.append(round(now() - started, 2))
            sizes.append(ok)
            opened += ok
            if failed:
                bench.note(f"batch {len(batches)}: {failed} sessions failed to open: {errors[:2]}")
            if not ok:
                break
        if opened < cfg.idle_sessions:
            bench.note(
                f"opened {opened:,} of {cfg.idle_sessions:,} sessions within the "
                f"{cfg.idle_open_budget_s:g} s budget (last batch cut short)"
            )
        await asyncio.sleep(cfg.settle_s)  # let the last greetings and writes finish
        rss_open = rss_kib(server.pid)
        async with bench.cpu([server.pid], pool.pids) as cpu:
            await asyncio.sleep(cfg.idle_window_s)
        rss_after = rss_kib(server.pid)
        status = await pool.call(w_idle_status)
    closed: dict[str, int] = {}
    for s in status:
        for code, n in s["closed"].items():
            closed[code] = closed.get(code, 0) + n
    full = [t for t, n in zip(batches, sizes, strict=True) if n == cfg.idle_batch]
    bench.add(
        {
            "phase": f"{cfg.idle_window_s:g} s idle",
            "sessions": opened,
            "wanted": cfg.idle_sessions,
            "rss_before_mib": round(rss_before / 1024, 1),
            "rss_open_mib": round(rss_open / 1024, 1),
            "rss_after_idle_mib": round(rss_after / 1024, 1),
            "kib_per_session": round((rss_open - rss_before) / opened, 1) if opened else None,
            "idle_cpu_pct": cpu["server_cpu_pct"],
            "client_cpu_pct": cpu["client_cpu_pct"],
            "other_cpu_pct": cpu["other_cpu_pct"],
            "still_open": sum(s["open"] for s in status) - warm,
            "closed_codes": closed,
            "open_per_s": round(opened / sum(batches), 1) if batches else None,
            "batch_size": cfg.idle_batch,
            "batch_s": batches,
            "batch_opened": sizes,
            "first_batch_s": full[0] if full else None,
            "last_batch_s": full[-1] if full else None,
            "slowdown": round(full[-1] / full[0], 1) if len(full) > 1 and full[0] else None,
        }
    )
