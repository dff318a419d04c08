"""3. Crisis -> dashboards: with C counsellors signed in (a dashboard socket each) and W
people waiting (connected), a new person writes a crisis message; the time until each
dashboard receives a ``queue`` frame listing that person. The person then leaves
and, once every dashboard has seen the row go, the next repetition starts.

On one gateway process, and (PostgreSQL only) across two processes sharing the
database and a Redis broker: dashboards and waiting people alternate between the
processes, the person in crisis is on the first.
"""

from __future__ import annotations

from bench.databases import PASSWORD, counsellor_names
from bench.harness import Bench, Gateway, Row
from bench.scenarios.crisis_worker import w_crisis, w_leave, w_open_dashboards, w_wait, w_watch
from bench.scenarios.people import w_queue_people
from bench.staff import close_all, sign_in_all
from bench.stats import latency_ms
from bench.workers import WorkerPool


async def run(bench: Bench) -> None:
    for backend in bench.config.backends:
        async with bench.unit("crisis", "gateway", backend), bench.gateway(backend, "crisis") as gw:
            await _measure(bench, gw)
    if "postgres" in bench.config.backends:
        unit = bench.unit("crisis", "gateway x2 (Redis)", "postgres")
        async with unit, bench.gateway("postgres", "crisis2", processes=2) as gw:
            await _measure(bench, gw)


async def _measure(bench: Bench, gw: Gateway) -> None:
    cfg = bench.config
    timeout_s = cfg.step_timeout_s
    processes = len(gw.servers)
    counsellors = await sign_in_all(
        gw.first.http, counsellor_names(cfg.crisis_counsellors), PASSWORD
    )
    try:
        async with bench.pool() as pool:
            waiting = [
                (f"waiting{n}", gw.servers[n % processes].ws) for n in range(cfg.crisis_waiting)
            ]
            await pool.call(
                w_queue_people,
                [
                    {
                        "people": waiting[w :: pool.size],
                        "marker": False,
                        "keep_open": True,
                        "concurrency": cfg.setup_concurrency,
                        "timeout_s": timeout_s,
                    }
                    for w in range(pool.size)
                ],
            )
            dashboards = [
                (n, n % processes, gw.servers[n % processes].ws, c.cookie)
                for n, c in enumerate(counsellors)
            ]
            opened = await pool.call(
                w_open_dashboards,
                [
                    {"dashboards": dashboards[w :: pool.size], "timeout_s": timeout_s}
                    for w in range(pool.size)
                ],
            )
            failed = sum(r["failed"] for r in opened)
            if failed:
                bench.note(f"{failed} dashboards did not open: {opened[0]['errors']}")
            await _repeat(bench, pool, gw, processes)
    finally:
        await close_all(counsellors)


async def _repeat(bench: Bench, pool: WorkerPool, gw: Gateway, processes: int) -> None:
    cfg = bench.config
    timeout_s = cfg.step_timeout_s
    local: list[float] = []  # dashboards on the process the person wrote to
    remote: list[float] = []  # dashboards on the other process
    everyone: list[float] = []  # per repetition: until the last dashboard had it
    own: list[float] = []  # the person's own widget showing the queue
    missed = 0
    async with bench.cpu(gw.pids, pool.pids) as cpu:
        for rep in range(cfg.crisis_reps):
            marker = f"[crisis-{rep}]"
            await pool.call(w_watch, {"marker": marker})
            sent = await pool.call_one(
                0, w_crisis, {"base_ws": gw.first.ws, "marker": marker, "timeout_s": timeout_s}
            )
            arrivals = [
                a
                for result in await pool.call(
                    w_wait, {"marker": marker, "event": "seen", "timeout_s": timeout_s}
                )
                for a in result
            ]
            own.append(sent["queued"] - sent["sent"])
            got = [(server, at - sent["sent"]) for _n, server, at in arrivals if at is not None]
            missed += len(arrivals) - len(got)
            local += [latency for server, latency in got if server == 0]
            remote += [latency for server, latency in got if server != 0]
            if got:
                everyone.append(max(latency for _server, latency in got))
            await pool.call_one(0, w_leave)
            await pool.call(w_wait, {"marker": marker, "event": "gone", "timeout_s": timeout_s})
    row: Row = {
        "phase": "1 process" if processes == 1 else f"{processes} processes, Redis",
        "counsellors": cfg.crisis_counsellors,
        "waiting": cfg.crisis_waiting,
        "reps": cfg.crisis_reps,
        **latency_ms(local + remote),
        **latency_ms(everyone, "all_"),
        **latency_ms(own, "person_"),
        "missed": missed,
    }
    if processes > 1:
        row |= latency_ms(local, "same_process_") | latency_ms(remote, "other_process_")
    bench.add(row | cpu)
