"""Sign-in under a flood of wrong passwords: how long a real counsellor's sign-in and a
person's acknowledgements take, quiet and flooded (docs/security.md, "Signing in").

    .venv/bin/python -m bench.signin_flood [--rate 20] [--seconds 10]

A real gateway process on SQLite with the production Argon2 parameters. The flood
sends ``--rate`` wrong sign-ins a second, each from its own address (X-Forwarded-For
from loopback, trusted as from a proxy) so that the per-address throttles do not stop
it first: what holds it is the bound on password hashing. The counsellor signs in
from the same browser throughout (so it is a known browser after the first time) and
presses "Sign in" again after "busy", as a person would; the time given is until
signed in.
Timings on a shared machine: read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from websockets.asyncio.client import connect
from websockets.typing import Origin

from bench.clients import ORIGIN
from bench.config import ROOT
from bench.servers import Server, free_port, gateway_env, start_server, stop_server
from gateway import migrations
from gateway.actions.staff import create_staff
from gateway.app import build_bot
from gateway.broker import MemoryBroker
from gateway.db import Database
from gateway.services import Services
from gateway.settings import Settings
from gateway.types import StaffRole

PASSWORD = "bench-password-not-secret"
_LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')


async def attempt(
    http: str, username: str, password: str, address: str, client: httpx.AsyncClient | None = None
) -> int:
    limits = httpx.Limits(max_keepalive_connections=0)
    async with contextlib.AsyncExitStack() as stack:
        if client is None:  # a stranger: a new client, no cookies
            client = httpx.AsyncClient(base_url=http, timeout=120, limits=limits)
            await stack.enter_async_context(client)
        headers = {"X-Forwarded-For": address}
        form = await client.get("/counsellor/sign-in", headers=headers)
        token = _LOGIN_CSRF.search(form.text)
        if token is None:
            return form.status_code
        data = {"username": username, "password": password, "login_csrf": token[1]}
        done = await client.post("/counsellor/sign-in", data=data, headers=headers)
        return done.status_code


async def counsellor_sign_in(http: str, browser: httpx.AsyncClient) -> tuple[float, int]:
    """Seconds until signed in from the counsellor's own browser (which keeps its
    known-browser cookie), and how many times the page said busy first."""
    started, busy = time.perf_counter(), 0
    while await attempt(http, "sam", PASSWORD, "198.51.100.1", browser) == 503:
        busy += 1
        await asyncio.sleep(0.2)
    return time.perf_counter() - started, busy


async def acks(ws_url: str, count: int, every_s: float) -> list[float]:
    """Seconds from each message sent to its ack, for one person on the widget."""
    took = []
    async with connect(f"{ws_url}/ws/chat", origin=Origin(ORIGIN)) as ws:
        await ws.send(json.dumps({"type": "hello", "v": 1, "token": None, "last_seq": 0}))
        for n in range(count):
            client_id = uuid.uuid4().hex
            sent = time.perf_counter()
            await ws.send(json.dumps({"type": "say", "client_id": client_id, "text": f"hi {n}"}))
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("type") == "ack" and frame.get("client_id") == client_id:
                    took.append(time.perf_counter() - sent)
                    break
            await asyncio.sleep(every_s)
    return took


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def phase(
    server: Server, browser: httpx.AsyncClient, rate: float, seconds: float
) -> dict[str, float]:
    flood: list[asyncio.Task[int]] = []
    peak = {"rss": rss_mib(server.pid)}
    running = True

    async def flooding() -> None:
        n = 0
        while running and rate:
            n += 1
            address = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
            flood.append(asyncio.create_task(attempt(server.http, "sam", f"guess {n}", address)))
            await asyncio.sleep(1 / rate)

    async def sampling() -> None:
        while running:
            peak["rss"] = max(peak["rss"], rss_mib(server.pid))
            await asyncio.sleep(0.05)

    background = [asyncio.create_task(flooding()), asyncio.create_task(sampling())]
    await asyncio.sleep(min(2.0, seconds / 4))  # let the flood build up
    person = asyncio.create_task(acks(server.ws, int(seconds * 2), 0.5))
    signs = [await counsellor_sign_in(server.http, browser) for _ in range(3)]
    took = await person
    running = False
    await asyncio.gather(*background)
    statuses = await asyncio.gather(*flood)
    return {
        "sign_in_median_s": statistics.median(s for s, _ in signs),
        "sign_in_max_s": max(s for s, _ in signs),
        "busy_answers_to_counsellor": sum(b for _, b in signs),
        "ack_median_ms": statistics.median(took) * 1000,
        "ack_p95_ms": sorted(took)[int(len(took) * 0.95) - 1] * 1000,
        "flood_sent": len(statuses),
        "flood_busy_503": statuses.count(503),
        "flood_wrong_401": statuses.count(401),
        "peak_rss_mib": peak["rss"],
    }


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-signin-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'haven.db'}"
        await asyncio.to_thread(migrations.upgrade, url)
        settings = Settings(database_url=url, data_dir=Path(folder))
        svc = Services(
            settings=settings, db=Database(url), broker=MemoryBroker(), bot=build_bot(settings)
        )
        await create_staff(
            svc, username="sam", display_name="Sam", password=PASSWORD, role=StaffRole.COUNSELLOR
        )
        await svc.db.dispose()
        port = free_port()
        env = gateway_env(source=ROOT, database_url=url, data_dir=Path(folder), port=port)
        # The real throttles and hashing bound (the bench's own settings lift them).
        env.pop("HAVEN_LOGIN_MAX_FAILURES", None)
        env.pop("HAVEN_LOGIN_ADDRESS_ATTEMPTS", None)
        server = await start_server(
            "signin", "gateway.app:create_app", env=env, factory=True, port=port, health="/healthz"
        )
        browser = httpx.AsyncClient(base_url=server.http, timeout=120)
        try:
            quiet = await phase(server, browser, 0, args.seconds)
            flooded = await phase(server, browser, args.rate, args.seconds)
        finally:
            await browser.aclose()
            await stop_server(server)
    print(f"{'':28} {'quiet':>10} {'flooded':>10}")
    for key in quiet:
        print(f"{key:28} {quiet[key]:10.2f} {flooded[key]:10.2f}")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="wrong sign-ins a second")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse_args())))
