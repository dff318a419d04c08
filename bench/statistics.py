"""The statistics page over a year of history: one million sessions, two databases.

    .venv/bin/python -m bench.statistics                        # 1,000,000 sessions, both
    .venv/bin/python -m bench.statistics --sessions 50000 --backends sqlite --runs 3

For each backend a fresh database (PostgreSQL: created on the server and dropped at
the end; SQLite: a temporary file) is migrated and loaded with ``--sessions``
sessions over ``--days`` days by ``gateway/history.py`` (their waits, wrap-ups and
ratings too), then analysed. A real gateway (a uvicorn subprocess, bench/servers.py)
serves the page to a supervisor signed in over HTTP, as a browser does:

* ``30 days``: ``/counsellor/statistics?period=30d``
* ``a year``: ``/counsellor/statistics?period=custom&from=...&to=...``

Each is fetched ``--runs`` times after one untimed warm-up; the median, the fastest
and the slowest are printed beside a baseline measured in the same run on the same
database: an indexed ``COUNT`` of the sessions started in the same range (the least
any page over that range could cost). The same figures are taken from
``gateway.actions.statistics.statistics_for`` in this process (the queries without
HTTP and the template), so a slow page says whether the time is in the database.
Settled days' figures are kept (gateway/actions/daily_figures.py): the first read of
a year builds them and is timed on its own; every other figure is a read that finds
them kept, as a running gateway does (it builds them ahead, a week a minute).
A Prometheus scrape of the same gateway (``/metrics``: a GROUP BY over every
session's state) is timed too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import func, select, text

from bench.config import ROOT, Config
from bench.servers import free_port, gateway_env, start_server, stop_server
from bench.staff import sign_in
from gateway import migrations
from gateway.actions.staff import create_staff
from gateway.actions.statistics import statistics_for
from gateway.app import build_bot
from gateway.broker import MemoryBroker
from gateway.db import Database
from gateway.history import generate_history
from gateway.models import ChatSession
from gateway.services import Services
from gateway.settings import Settings
from gateway.types import StaffRole

ZONE = "Europe/London"
SUPERVISOR = "bench-supervisor"
PASSWORD = "bench-password-not-secret"
METRICS_TOKEN = "bench-metrics-token-not-secret"


@dataclass(frozen=True)
class Timing:
    label: str
    runs: list[float]  # seconds

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs) * 1000

    def row(self) -> str:
        return (
            f"  {self.label:<38} median {self.median_ms:8.1f} ms"
            f"   fastest {min(self.runs) * 1000:8.1f}   slowest {max(self.runs) * 1000:8.1f}"
        )


async def timed(runs: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    await call()  # warm-up: caches, the first connection, the template
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return times


@contextlib.asynccontextmanager
async def fresh_database(backend: str, pg_dsn: str, folder: Path) -> AsyncIterator[str]:
    """A new, empty database URL for SQLAlchemy; dropped (or deleted) afterwards."""
    if backend == "sqlite":
        path = folder / "statistics.db"
        yield f"sqlite+aiosqlite:///{path}"
        return
    name = f"haven_bench_statistics_{os.getpid()}"
    admin = await asyncpg.connect(pg_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(pg_dsn)
        yield urlunsplit(("postgresql+asyncpg", parts.netloc, "/" + name, parts.query, ""))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def load(svc: Services, sessions: int, days: int, today: date) -> str:
    """Migrate is done; write the history and the supervisor, then analyse."""
    await create_staff(
        svc, username=SUPERVISOR, display_name="Bench", password=PASSWORD, role=StaffRole.SUPERVISOR
    )
    started = time.perf_counter()
    now = datetime.combine(today, datetime.min.time(), ZoneInfo(ZONE)) + timedelta(hours=12)
    counts = await generate_history(
        svc.db.engine,
        days=days,
        sessions_per_day=sessions / days,
        seed=2026,
        timezone=ZONE,
        outcomes=svc.settings.wrapup_outcomes,
        now=now,
    )
    loaded = time.perf_counter() - started
    async with svc.db.engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE" if svc.db.is_postgres else "ANALYZE"))
    return (
        f"loaded {counts.sessions:,} sessions, {counts.waits:,} waits, "
        f"{counts.wrap_ups:,} wrap-ups, {counts.ratings:,} ratings in {loaded:.0f} s "
        f"({counts.sessions / loaded:,.0f} sessions/s)"
    )


async def measure(backend: str, args: argparse.Namespace, folder: Path) -> list[str]:
    lines = [f"{backend}:"]
    today = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date()
    year_first = today - timedelta(days=365)
    async with fresh_database(backend, args.pg_dsn, folder) as url:
        await asyncio.to_thread(migrations.upgrade, url)
        settings = Settings(database_url=url, data_dir=folder, timezone=ZONE)
        svc = Services(
            settings=settings, db=Database(url), broker=MemoryBroker(), bot=build_bot(settings)
        )
        try:
            lines.append("  " + await load(svc, args.sessions, args.days, today))
            lines += await _timings(svc, args.runs, today, year_first)
        finally:
            await svc.db.dispose()
        lines += await _page(url, folder, args.runs, today, year_first)
    return lines


async def _timings(svc: Services, runs: int, today: date, year_first: date) -> list[str]:
    zone = ZoneInfo(ZONE)
    # The first read of a year builds and keeps every settled day's figures
    # (gateway/actions/daily_figures.py; a running gateway builds them ahead, a week a
    # minute): timed once, apart from the reads that find them kept.
    started = time.perf_counter()
    await statistics_for(svc, first=year_first, last=today)
    rows = [Timing("first read of a year (keeps its days)", [time.perf_counter() - started])]
    for label, first in (("30 days", today - timedelta(days=29)), ("a year", year_first)):
        start = datetime.combine(first, datetime.min.time(), zone)

        async def baseline(start: datetime = start) -> object:
            async with svc.read() as session:
                query = select(func.count(ChatSession.id)).where(ChatSession.created_at >= start)
                return (await session.execute(query)).scalar_one()

        async def figures(first: date = first) -> object:
            return await statistics_for(svc, first=first, last=today)

        rows.append(Timing(f"baseline: indexed COUNT, {label}", await timed(runs, baseline)))
        rows.append(Timing(f"statistics_for, {label}", await timed(runs, figures)))
    return [t.row() for t in rows]


async def _page(url: str, folder: Path, runs: int, today: date, year_first: date) -> list[str]:
    env_folder = folder / "gateway"
    env_folder.mkdir(exist_ok=True)
    port = free_port()
    env = gateway_env(source=ROOT, database_url=url, data_dir=env_folder, port=port)
    env |= {"HAVEN_TIMEZONE": ZONE, "HAVEN_METRICS_TOKEN": METRICS_TOKEN}
    server = await start_server(
        "statistics",
        "gateway.app:create_app",
        env=env,
        factory=True,
        port=port,
        health="/healthz",
    )
    rows = []
    try:
        supervisor = await sign_in(server.http, SUPERVISOR, PASSWORD)
        try:
            pages = (
                ("page over HTTP, 30 days", "/counsellor/statistics?period=30d"),
                (
                    "page over HTTP, a year",
                    f"/counsellor/statistics?period=custom&from={year_first}&to={today}",
                ),
            )
            for label, path in pages:
                first = await supervisor.http.get(path)
                if first.status_code != 200:
                    rows.append(f"  {label}: answered {first.status_code}, not timed")
                    continue

                async def fetch(path: str = path) -> object:
                    response = await supervisor.http.get(path)
                    response.raise_for_status()
                    return response

                rows.append(Timing(label, await timed(runs, fetch)).row())

            async def scrape() -> object:
                response = await supervisor.http.get(
                    "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
                )
                response.raise_for_status()
                return response

            rows.append(Timing("/metrics scrape (for comparison)", await timed(runs, scrape)).row())
        finally:
            await supervisor.http.aclose()
    finally:
        await stop_server(server)
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.statistics", description=__doc__)
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each (median)")
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--pg-dsn", default=Config.pg_dsn)
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> int:
    print(
        f"Statistics page over {args.sessions:,} sessions in {args.days} days "
        f"({args.runs} timed runs each, after one warm-up; {os.cpu_count()} CPUs)",
        flush=True,
    )
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix="haven-bench-statistics-") as folder:
            for line in await measure(backend.strip(), args, Path(folder)):
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
