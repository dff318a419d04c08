"""Measure the Haven gateway against a bare echo server and a bare relay, in one run.

    make bench                      # the full run (a few minutes)
    make bench BENCH_ARGS=--quick   # a smoke run (under a minute)
    .venv/bin/python -m bench.run --only relay,bot --backends sqlite --chats 500

Every server is a uvicorn subprocess on a free loopback port; the clients are
client processes of this run (``bench/workers.py``). Scenarios: ``relay``,
``bot``, ``crisis``, ``claims``, ``idle`` (docs/performance.md describes each).
Prints tables, writes ``bench/results/<timestamp>.json`` and, after a full run,
the results section of docs/performance.md.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import report
from bench.config import BACKENDS, ROOT, SCENARIOS, Config, parse_args
from bench.databases import Databases
from bench.harness import Bench
from bench.machine import describe, export, resolve, source_info
from bench.procstat import machine_cpu_seconds
from bench.scenarios import bot, claims, crisis, idle, relay
from bench.workers import raise_nofile, run_loop

RESULTS = ROOT / "bench" / "results"
RUNNERS: dict[str, Callable[[Bench], Awaitable[None]]] = {
    "relay": relay.run,
    "bot": bot.run,
    "crisis": crisis.run,
    "claims": claims.run,
    "idle": idle.run,
}


def _staff_needed(config: Config) -> int:
    needs = {
        "relay": config.relay_counsellors,
        "crisis": config.crisis_counsellors,
        "claims": config.claim_counsellors,
    }
    return max([1, *(n for name, n in needs.items() if name in config.scenarios)])


async def main(config: Config) -> dict[str, Any]:
    # 10,000 sockets need 10,000 descriptors in the server (which inherits this limit).
    nofile = raise_nofile(1 << 20)
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    with tempfile.TemporaryDirectory(prefix="haven-bench-src-") as exported:
        if config.at:
            commit = resolve(config.at)  # the commit, not a name that may move meanwhile
            config = replace(config, at=commit, source=export(commit, Path(exported)))
        return await _run(config, started_at, nofile)


async def _run(config: Config, started_at: str, nofile: int) -> dict[str, Any]:
    databases = Databases(source=config.source, pg_dsn=config.pg_dsn, staff=_staff_needed(config))
    bench = Bench(config, databases)
    postgres = None
    if "postgres" in config.backends:
        try:
            postgres = await databases.postgres_version()
        except (OSError, Exception) as exc:  # no server: say so, run the rest
            bench.note(f"PostgreSQL unreachable ({exc}); running SQLite only")
            config = replace(config, backends=("sqlite",))
            bench.config = config
    load = await _machine_load()
    if load > 30:
        bench.progress(
            f"warning: other processes use {load:.0f}% of a core before the bench starts: "
            "figures will be noisy (each table has an 'other CPU %' column)"
        )
    bench.progress(
        f"bench: scenarios {','.join(config.scenarios)}; gateway on {','.join(config.backends)}; "
        f"{config.workers} client processes; open files limit {nofile}"
    )
    try:
        for name in SCENARIOS:
            if name in config.scenarios:
                await RUNNERS[name](bench)
    finally:
        await databases.close()
    return {
        "started_at": started_at,
        "seconds": round(time.monotonic() - bench.started, 1),
        "config": config.to_json(),
        "machine": describe(postgres=postgres, redis_url=config.redis_url),
        "other_load_at_start_pct": round(load, 1),
        "source": source_info(config.source, config.at),
        "rows": bench.rows,
        "errors": bench.errors,
    }


async def _machine_load(seconds: float = 1.0) -> float:
    """CPU use of the whole machine over ``seconds``, as % of a core (the bench is idle)."""
    before, started = machine_cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)
    return 100 * (machine_cpu_seconds() - before) / (time.monotonic() - started)


def cli(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    outcome: dict[str, Any] = {}

    async def go() -> None:
        outcome.update(await main(config))

    run_loop(go())
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}{'-quick' if config.quick else ''}.json"
    path.write_text(json.dumps(outcome, indent=1))
    print(report.console(outcome))
    print(f"\nwritten {path.relative_to(ROOT)} ({outcome['seconds']} s)")
    full = set(config.scenarios) == set(SCENARIOS) and set(config.backends) == set(BACKENDS)
    if config.write_docs and full:
        report.write_docs(outcome, path)
        print("updated the results section of docs/performance.md")
    elif config.write_docs and not config.quick:
        print(
            f"docs/performance.md not updated; to do it: python -m bench.report --write-docs {path}"
        )
    return 1 if not outcome["rows"] else 0


if __name__ == "__main__":
    sys.exit(cli())
