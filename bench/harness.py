"""What every scenario uses: servers on fresh databases, client pools, results, progress.

A *unit* is one scenario against one server (the echo server, the bare relay, the
gateway on SQLite, ...). A unit that fails or runs out of time is recorded as an
error and the run goes on; the rows a unit added before that are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from bench.clients import now
from bench.config import Config
from bench.databases import Database, Databases
from bench.procstat import CpuMeter, machine_cpu_seconds
from bench.servers import Server, start_baseline, start_gateway, stop_server
from bench.workers import WorkerPool, worker_pool

Row = dict[str, Any]
MIN_CPU_WINDOW_S = 0.5


@dataclass
class Gateway:
    servers: list[Server]
    database: Database

    @property
    def first(self) -> Server:
        return self.servers[0]

    @property
    def pids(self) -> list[int]:
        return [server.pid for server in self.servers]


class Bench:
    def __init__(self, config: Config, databases: Databases) -> None:
        self.config = config
        self.databases = databases
        self.rows: list[Row] = []
        self.errors: list[Row] = []
        self.started = time.monotonic()
        self._unit: Row = {}

    # --- output ---

    def progress(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {message}", file=sys.stderr, flush=True)

    def add(self, row: Row) -> None:
        row = {**self._unit, **row}
        self.rows.append(row)
        shown = {k: v for k, v in row.items() if not isinstance(v, list | dict)}
        self.progress("  " + ", ".join(f"{k}={v}" for k, v in shown.items()))

    def note(self, message: str) -> None:
        """Something that went wrong but did not stop the unit."""
        self.errors.append({**self._unit, "error": message})
        self.progress(f"  note: {message}")

    # --- units ---

    @contextlib.asynccontextmanager
    async def unit(self, scenario: str, server: str, db: str = "-") -> AsyncIterator[None]:
        self._unit = {"scenario": scenario, "server": server, "db": db}
        self.progress(f"{scenario}: {server}" + ("" if db == "-" else f" on {db}"))
        deadline = asyncio.timeout(self.config.unit_timeout_s)
        try:
            async with deadline:
                yield
        except Exception as exc:
            if isinstance(exc, TimeoutError) and deadline.expired():
                self.note(f"gave up after {self.config.unit_timeout_s:.0f} s (unit timeout)")
            else:
                self.note(f"failed: {type(exc).__name__}: {str(exc)[:2000]}")
        finally:
            self._unit = {}

    @contextlib.asynccontextmanager
    async def pool(self, workers: int | None = None) -> AsyncIterator[WorkerPool]:
        async with worker_pool(workers or self.config.workers, nofile=1 << 20) as pool:
            yield pool

    @contextlib.asynccontextmanager
    async def baseline(self, kind: str) -> AsyncIterator[Server]:
        server = await start_baseline(kind)
        try:
            yield server
        finally:
            await self._stop([server])

    @contextlib.asynccontextmanager
    async def gateway(self, backend: str, label: str, processes: int = 1) -> AsyncIterator[Gateway]:
        """Gateway process(es) on a fresh database; two or more share it through Redis."""
        async with self.databases.fresh(backend, label) as database:
            broker = "memory://" if processes == 1 else self.config.redis_url
            prefix = f"haven-bench-{secrets.token_hex(4)}:"
            servers = await asyncio.gather(
                *(
                    start_gateway(
                        f"gateway{index}",
                        source=self.config.source,
                        database_url=database.url,
                        data_dir=database.data_dir,
                        broker_url=broker,
                        channel_prefix=prefix,
                    )
                    for index in range(processes)
                ),
                return_exceptions=True,
            )
            started = [s for s in servers if isinstance(s, Server)]
            failed = [s for s in servers if isinstance(s, BaseException)]
            try:
                if failed:
                    raise failed[0]
                yield Gateway(started, database)
            finally:
                await self._stop(started)

    async def _stop(self, servers: Sequence[Server]) -> None:
        for server in servers:
            errors = server.error_lines()
            if errors:
                self.note(
                    f"{server.name} logged {errors} error line(s); last lines:\n"
                    + server.log_tail()
                )
        await asyncio.gather(*(stop_server(server) for server in servers))

    # --- measuring ---

    @contextlib.asynccontextmanager
    async def cpu(self, server_pids: list[int], client_pids: list[int]) -> AsyncIterator[Row]:
        """CPU of the servers and of the client processes while the block runs (% of a core)."""
        result: Row = {}
        servers, clients = CpuMeter(server_pids), CpuMeter(client_pids)
        started, machine = now(), machine_cpu_seconds()
        servers.start(started)
        clients.start(started)
        try:
            yield result
        finally:
            ended = now()
            result["server_cpu_pct"] = servers.percent(ended)
            result["client_cpu_pct"] = clients.percent(ended)
            # Whatever else ran meanwhile (this machine may be shared): a figure measured
            # while other processes took a large share of the cores is a noisy one.
            total = 100 * (machine_cpu_seconds() - machine) / max(ended - started, 1e-9)
            others = total - result["server_cpu_pct"] - result["client_cpu_pct"]
            result["other_cpu_pct"] = round(max(0.0, others), 1)
            if ended - started < MIN_CPU_WINDOW_S:
                # CPU time is counted in clock ticks: a window this short says nothing.
                result.update(dict.fromkeys(result))


def split(items: Sequence[Any], parts: int) -> list[list[Any]]:
    """``items`` dealt round-robin into ``parts`` lists."""
    return [list(items[index::parts]) for index in range(parts)]


async def sleep_until(at: float) -> None:
    await asyncio.sleep(max(0.0, at - now()))
