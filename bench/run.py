"""Measure the gateway against a bare websocket echo server, in one run.

For each server: start it with uvicorn in its own process on a loopback port,
open CLIENTS widget connections, and have each send MESSAGES `say` frames one
after another, timing each `say` -> `ack` round trip. The gateway stores every
message (and runs the bot) before acking; the echo server only parses and
answers. Prints percentiles and throughput and writes bench/results/*.json.

    .venv/bin/python bench/run.py [--clients 20] [--messages 50] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(target: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            target,
            *(["--factory"] if "create_app" in target else []),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--ws-per-message-deflate",
            "false",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )


async def wait_ready(port: int) -> None:
    for _ in range(300):
        try:
            _r, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"server on {port} did not start")


async def client(url: str, origin: str, messages: int, latencies: list[float]) -> None:
    async with connect(url, origin=origin, compression=None) as ws:  # type: ignore[arg-type]
        await ws.send(json.dumps({"type": "hello", "v": 1, "token": None, "last_seq": 0}))
        while json.loads(await ws.recv())["type"] != "welcome":
            pass
        for i in range(messages):
            cid = uuid.uuid4().hex
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "say", "client_id": cid, "text": f"message {i}"}))
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "ack" and frame["client_id"] == cid:
                    break
            latencies.append(time.perf_counter() - started)


async def measure(name: str, port: int, clients: int, messages: int) -> dict[str, object]:
    origin = f"http://127.0.0.1:{port}"
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(
        *(
            client(f"ws://127.0.0.1:{port}/ws/chat", origin, messages, latencies)
            for _ in range(clients)
        )
    )
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {
        "server": name,
        "clients": clients,
        "messages": len(latencies),
        "seconds": round(elapsed, 2),
        "acks_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
    }


async def bench_one(
    name: str, target: str, env: dict[str, str], clients: int, messages: int
) -> dict[str, object]:
    port = free_port()
    env = {**env, "HAVEN_PORT": str(port), "HAVEN_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    proc = start(target, port, env)
    try:
        await wait_ready(port)
        await asyncio.sleep(0.5)
        return await measure(name, port, clients, messages)
    finally:
        proc.terminate()
        proc.wait(10)


def migrate(url: str) -> None:
    sys.path.insert(0, str(ROOT))
    from gateway import migrations

    migrations.upgrade(url)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument(
        "--postgres", action="store_true", help="also bench PostgreSQL (database 'test' must exist)"
    )
    args = parser.parse_args()
    gateway_env = {
        "HAVEN_BOT_TYPING_CPS": "0",
        "HAVEN_BOT_TYPING_MIN_S": "0",
        "HAVEN_BOT_TYPING_MAX_S": "0",
        "HAVEN_RATE_LIMIT_MESSAGES": "100000",
        "HAVEN_MAX_CONNECTIONS_PER_ADDRESS": "100000",
    }
    results = [
        await bench_one("echo baseline", "bench.echo_app:app", {}, args.clients, args.messages)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await asyncio.to_thread(migrate, url)
        results.append(
            await bench_one(
                "gateway, SQLite",
                "gateway.app:create_app",
                {**gateway_env, "HAVEN_DATABASE_URL": url, "HAVEN_DATA_DIR": tmp},
                args.clients,
                args.messages,
            )
        )
    if args.postgres:
        url = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        await asyncio.to_thread(migrate, url)
        results.append(
            await bench_one(
                "gateway, PostgreSQL",
                "gateway.app:create_app",
                {**gateway_env, "HAVEN_DATABASE_URL": url},
                args.clients,
                args.messages,
            )
        )
    base = float(results[0]["p50_ms"])  # type: ignore[arg-type]
    print(f"{'server':<22}{'acks/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'x echo p50':>12}")
    for r in results:
        ratio = float(r["p50_ms"]) / base if base else float("nan")  # type: ignore[arg-type]
        print(
            f"{r['server']:<22}{r['acks_per_s']:>9}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['p99_ms']:>9}{ratio:>12.1f}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"say_ack_{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(main())
