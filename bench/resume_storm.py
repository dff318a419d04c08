"""Other people's acks during a resume storm, without and with the bounds on resumes.

    .venv/bin/python -m bench.resume_storm                  # 4,700 lines, 20 s a phase
    .venv/bin/python -m bench.resume_storm --lines 2000 --seconds 10 --stormers 8

The observed hole (issue 12): resumes with ``last_seq=0`` of a 4,700-line transcript,
sent over and over, raised other people's 95th-percentile ack latency from 5 ms to
1.2 s. Here one SQLite database holds a session with ``--lines`` lines; a real
gateway (a uvicorn subprocess, bench/servers.py) serves it twice:

* ``unbounded``: the catch-up read and sent in one go, as before this change, and no
  limit on resumes (every abuse limit out of reach, as bench/servers.py sets them);
* ``bounded``: this release as shipped: catch-up in batches of 200 lines with a
  yield between them, and the default limits on resumes and catch-up lines per
  session and per address (gateway/abuse/, docs/security.md "Abuse").

Against each, ``--people`` people on their own loopback addresses (127.0.0.10 and
up) chat with the bot, one message every two seconds each, and the time from each
``say`` to its ``ack`` is recorded: first with nothing else going on (the baseline,
measured in the same run), then while ``--stormers`` connections from one other
address (127.0.0.2) resume the long session from ``last_seq=0`` over and over. The
table gives the people's acks (p50, p95, p99) in each phase, and how many resumes
the storm got served or refused and how many lines it was sent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from websockets.asyncio.client import connect
from websockets.typing import Origin

from bench.clients import ORIGIN, Closed, Conn, bot_done, is_ack, say
from bench.config import ROOT
from bench.servers import Server, free_port, gateway_env, start_server, stop_server
from bench.stats import latency_ms
from gateway import migrations
from gateway.actions.records import append_message, lock_session
from gateway.actions.sessions import start_session
from gateway.app import build_bot, create_app
from gateway.broker import MemoryBroker
from gateway.db import Database
from gateway.live import feed
from gateway.services import Services
from gateway.settings import ABUSE_LIMITS, Settings
from gateway.types import SenderKind

STORM_ADDRESS = "127.0.0.2"
# The shipped abuse limits (bench/servers.py sets them out of reach for the other
# scenarios, whose clients all come from 127.0.0.1): the "bounded" gateway.
SHIPPED = {
    f"HAVEN_{name.upper()}": str(getattr(Settings(), name))
    for name in (*ABUSE_LIMITS, "challenge", "challenge_difficulty")
}


def unbounded_app() -> Starlette:
    """The gateway with its catch-up in one read, as before the bounds (uvicorn factory)."""
    feed.CATCHUP_BATCH = 10**9
    return create_app()


@dataclass
class Phase:
    acks_s: list[float] = field(default_factory=list)
    served: int = 0
    refused: int = 0
    lines: int = 0


async def seed(url: str, lines: int) -> str:
    """A session with ``lines`` bot lines; its resume token."""
    settings = Settings(database_url=url)
    db = Database(url)
    svc = Services(settings=settings, db=db, broker=MemoryBroker(), bot=build_bot(settings))
    try:
        view, token = await start_session(svc, locale="en")
        async with svc.transaction() as tx:
            chat = await lock_session(tx, view.id)
            for n in range(lines):
                text = f"Line {n} of a long conversation, as long as an ordinary message is."
                await append_message(tx, chat, sender=SenderKind.BOT, text=text, publish=False)
    finally:
        await db.dispose()
    return token


async def open_from(server: Server, address: str) -> Conn:
    ws = await connect(
        f"{server.ws}/ws/chat",
        origin=Origin(ORIGIN),
        compression=None,
        proxy=None,
        ping_interval=None,
        max_size=None,
        open_timeout=60,
        close_timeout=2,
        local_addr=(address, 0),
    )
    return Conn(ws)


async def person(server: Server, address: str, phases: dict[str, Phase], now: list[str]) -> None:
    """A person chatting with the bot: one message every two seconds, each ack timed."""
    conn = await open_from(server, address)
    try:
        await conn.send({"type": "hello", "v": 1, "token": None, "last_seq": 0})
        await conn.until(bot_done, 60)
        while now[0] != "done":
            client_id = uuid.uuid4().hex
            sent = time.perf_counter()
            await conn.send(say(client_id, "I've had a long day and wanted to talk."))
            await conn.until(is_ack(client_id), 60)
            if now[0] in phases:
                phases[now[0]].acks_s.append(time.perf_counter() - sent)
            conn.drain()
            await asyncio.sleep(2.0)
    finally:
        await conn.close()


async def stormer(server: Server, token: str, last: int, phase: Phase, stop: asyncio.Event) -> None:
    """Resume the long session from the start, read it all (or the refusal), again."""
    while not stop.is_set():
        conn = await open_from(server, STORM_ADDRESS)
        try:
            await conn.send({"type": "hello", "v": 1, "token": token, "last_seq": 0})
            first = (await conn.until(lambda f: f["type"] in ("welcome", "error"), 60))[-1]
            if first["type"] == "error":
                phase.refused += 1
                continue
            got = await conn.until(lambda f: f.get("seq") == last, 120)
            phase.served += 1
            phase.lines += sum(1 for f in got if f["type"] == "message")
        except Closed:
            phase.refused += 1
        finally:
            await conn.close()


async def measure(
    name: str, app: str, env: dict[str, str], db_file: Path, token: str, args: argparse.Namespace
) -> dict[str, Phase]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-storm-{name}-"))
    copy = data_dir / "haven.db"
    shutil.copy(db_file, copy)
    url = f"sqlite+aiosqlite:///{copy}"
    port = free_port()
    server_env = {
        **gateway_env(source=ROOT, database_url=url, data_dir=data_dir, port=port),
        **env,
    }
    server = await start_server(
        name, app, cwd=ROOT, env=server_env, factory=True, port=port, health="/healthz"
    )
    phases = {"quiet": Phase(), "storm": Phase()}
    now = ["warm-up"]
    try:
        people = [
            asyncio.create_task(person(server, f"127.0.0.{10 + i}", phases, now))
            for i in range(args.people)
        ]
        await asyncio.sleep(4.0)  # everyone greeted and chatting
        now[0] = "quiet"
        await asyncio.sleep(args.seconds)
        now[0] = "storm"
        stop = asyncio.Event()
        storm = [
            asyncio.create_task(stormer(server, token, args.lines, phases["storm"], stop))
            for _ in range(args.stormers)
        ]
        await asyncio.sleep(args.seconds)
        now[0] = "done"
        stop.set()
        for task in storm:
            task.cancel()
        await asyncio.gather(*storm, return_exceptions=True)
        await asyncio.gather(*people, return_exceptions=True)
    finally:
        await stop_server(server)
        shutil.rmtree(data_dir, ignore_errors=True)
    return phases


def row(config: str, phase: str, p: Phase) -> str:
    acks = latency_ms(p.acks_s)
    cells = [
        config,
        phase,
        str(acks["n"]),
        f"{acks['p50_ms']}",
        f"{acks['p95_ms']}",
        f"{acks['p99_ms']}",
        str(p.served),
        str(p.refused),
        str(p.lines),
    ]
    return "| " + " | ".join(cells) + " |"


async def main(args: argparse.Namespace) -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-storm-"))
    db_file = base / "seed.db"
    try:
        await asyncio.to_thread(migrations.upgrade, f"sqlite+aiosqlite:///{db_file}")
        token = await seed(f"sqlite+aiosqlite:///{db_file}", args.lines)
        results = {
            "unbounded": await measure(
                "unbounded", "bench.resume_storm:unbounded_app", {}, db_file, token, args
            ),
            "bounded": await measure(
                "bounded", "gateway.app:create_app", SHIPPED, db_file, token, args
            ),
        }
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(
        f"\nResume storm: {args.stormers} connections from one address resuming a "
        f"{args.lines}-line session from last_seq=0; {args.people} people chatting, "
        f"{args.seconds:.0f} s a phase (SQLite, one gateway process).\n"
    )
    print(
        "| gateway | phase | people's acks | p50 ms | p95 ms | p99 ms | resumes served "
        "| resumes refused | lines sent |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for config, phases in results.items():
        for phase, p in phases.items():
            print(row(config, phase, p))


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=4700)
    parser.add_argument("--people", type=int, default=30)
    parser.add_argument("--stormers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    return parser.parse_args(argv)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parse(sys.argv[1:])))
