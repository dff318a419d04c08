"""Other people's latency while one client floods the widget socket (issue 12, item 9).

    .venv/bin/python -m bench.abuse                          # SQLite, 40 people, 30 s a phase
    .venv/bin/python -m bench.abuse --backend postgres --floods sessions,resumes,frames

Phases one after another, in one run on one machine:

1. ``bare``: ``bench.echo_app`` (a bare Starlette websocket that acks every ``say``)
   under the same people: what the server, the framework and the clients cost alone.
2. ``quiet``: the gateway (a uvicorn subprocess with its shipped limits; only the
   timers that would move a chat are lengthened) under the same people.
3. one phase per ``--floods`` kind: the same gateway and people, while one client at
   its own loopback address (127.0.0.9), ``--flood-connections`` at a time (20, the
   most one address may hold open) with no pause,
   floods: ``sessions`` (new sessions in crisis asking for a counsellor at once),
   ``resumes`` (a ``--transcript``-line transcript asked for from ``last_seq`` 0),
   ``frames`` (says past every rate limit and broken frames), ``connections``
   (opened and closed at once, in a loop), or ``mixed`` (sessions, resumes and
   frames in turn, the default).

Each person has their own loopback address (127.0.0.10, .11, ...) and says one line
every ``--interval-s`` (under the per-session message limit; the people's lines
spread evenly over the interval), and the latency of
each ``say`` to its ``ack`` (the line is stored before it is acknowledged) is taken.
Printed: p50, p95, p99 and max per phase, the acks missing, refused (a limit) or out
of order, and what the flood did (connections opened, how they were closed, frames
it got back). The flood and every loop stop by themselves after ``--phase-s``.

The flooder runs in a process of its own (``--flood-worker``), so that its work
does not delay the loop that times the people's acks. With two cores or more the
server under test is pinned to the first core and the clients to the others
(``--no-pin`` leaves them to the scheduler): an attacker's machine is not the
gateway's, and on a two-core machine an unpinned flooder takes the gateway's CPU,
which measures the machine rather than the gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Origin

from bench.clients import ORIGIN, now
from bench.config import ROOT, Config
from bench.databases import Databases
from bench.servers import free_port, start_baseline, start_server, stop_server
from bench.stats import latency_ms
from gateway.actions.messages import post_user_message
from gateway.actions.sessions import start_session
from gateway.app import build_bot
from gateway.broker import MemoryBroker
from gateway.db import Database
from gateway.services import Services
from gateway.settings import Settings

FLOODER = "127.0.0.9"
CLIENT_ERRORS = (ConnectionClosed, InvalidHandshake, OSError, TimeoutError)
# The gateway as shipped, except what the bench itself needs: its clients' Origin,
# no typing pause, and no timer moving a chat while it is measured.
GATEWAY_ENV = {
    "HAVEN_ENV": "development",
    "HAVEN_ALLOWED_ORIGINS": ORIGIN,
    "HAVEN_BOT_TYPING_CPS": "0",
    "HAVEN_BOT_TYPING_MIN_S": "0",
    "HAVEN_BOT_TYPING_MAX_S": "0",
    "HAVEN_QUEUE_ABANDON_S": "86400",
}


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    missing: int = 0  # neither acknowledged nor refused within 15 s of the phase's end
    refused: Counter[str] = field(default_factory=Counter)
    out_of_order: int = 0
    flood: Counter[str] = field(default_factory=Counter)

    def row(self) -> str:
        figures = latency_ms(self.latencies)
        flood = ", ".join(f"{k} {v}" for k, v in sorted(self.flood.items())) or "-"
        return (
            f"  {self.name:<8} n {figures['n']:>5}  p50 {figures['p50_ms']:>8} ms"
            f"  p95 {figures['p95_ms']:>8} ms  p99 {figures['p99_ms']:>8} ms"
            f"  max {figures['max_ms']:>8} ms  missing {self.missing}"
            f"  refused {dict(self.refused) or 0}  out of order {self.out_of_order}"
            f"\n           flood: {flood}"
        )


async def _open(base_ws: str, address: str) -> ClientConnection:
    return await connect(
        f"{base_ws}/ws/chat",
        origin=Origin(ORIGIN),
        local_addr=(address, 0),
        open_timeout=10,
        close_timeout=1,
        max_size=None,
        compression=None,
    )


async def person(
    base_ws: str, address: str, phase: Phase, args: argparse.Namespace, offset_s: float
) -> None:
    """One person: a new session, then, ``offset_s`` later, a line every interval until
    the phase ends. The offsets spread the people over the interval, as people
    writing on their own would be: all at once, the last line of each burst would
    wait for the other 39 and the figures would measure the burst."""
    ws = await _open(base_ws, address)
    await ws.send(json.dumps({"type": "hello", "v": 1, "token": None, "last_seq": 0}))
    sent: dict[str, float] = {}
    acked: list[int] = []
    done = asyncio.Event()

    async def read() -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("client_id") not in sent:
                    continue
                if frame["type"] == "ack":
                    phase.latencies.append(now() - sent.pop(frame["client_id"]))
                    acked.append(int(frame["seq"]))
                elif frame["type"] == "error":  # refused (a limit): not a latency
                    del sent[frame["client_id"]]
                    phase.refused[frame["code"]] += 1
                if done.is_set() and not sent:
                    return

    reader = asyncio.create_task(read())
    deadline = now() + args.phase_s
    await asyncio.sleep(offset_s)
    n = 0
    while now() < deadline:
        client_id = f"{address}-{n}"
        sent[client_id] = now()
        await ws.send(json.dumps({"type": "say", "client_id": client_id, "text": f"line {n}"}))
        n += 1
        await asyncio.sleep(args.interval_s)
    done.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(reader), 15)
    phase.missing += len(sent)
    phase.out_of_order += sum(1 for a, b in itertools.pairwise(acked) if b <= a)
    reader.cancel()
    await ws.close()


async def flood_round(base_ws: str, kind: str, token: str, n: int, tally: Counter[str]) -> None:
    ws = await _open(base_ws, FLOODER)
    tally["connections"] += 1
    try:
        async with asyncio.timeout(2):
            await FLOODS[kind](ws, token, n)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.05):
                    async for _ in ws:
                        tally["frames received"] += 1
    except TimeoutError:
        tally["stalled (the server stopped reading)"] += 1
    finally:
        await ws.close()
        tally[f"closed {ws.close_code}"] += 1


async def _hello(ws: ClientConnection, token: str | None) -> None:
    await ws.send(json.dumps({"type": "hello", "v": 1, "token": token, "last_seq": 0}))


async def flood_sessions(ws: ClientConnection, token: str, n: int) -> None:
    """A new session that asks for a counsellor at once, in crisis."""
    await _hello(ws, None)
    await ws.send(json.dumps({"type": "say", "client_id": f"c{n}", "text": "I want to die"}))
    await ws.send(json.dumps({"type": "ask_counsellor"}))


async def flood_resumes(ws: ClientConnection, token: str, n: int) -> None:
    """The long transcript asked for from the start."""
    await _hello(ws, token)


async def flood_frames(ws: ClientConnection, token: str, n: int) -> None:
    """Says far past every rate limit, and broken frames, on a new session."""
    await _hello(ws, None)
    for i in range(60):
        await ws.send(json.dumps({"type": "say", "client_id": f"f{n}-{i}", "text": "flood " * 20}))
    for _ in range(5):
        await ws.send('{"type": "say", "text": ' + "[" * 50)


async def flood_connections(ws: ClientConnection, token: str, n: int) -> None:
    """Open and close at once: never a hello, never near the cap."""


async def flood_mixed(ws: ClientConnection, token: str, n: int) -> None:
    """Each of the others in turn."""
    await (flood_sessions, flood_resumes, flood_frames)[n % 3](ws, token, n)


FLOODS = {
    "mixed": flood_mixed,
    "sessions": flood_sessions,
    "resumes": flood_resumes,
    "frames": flood_frames,
    "connections": flood_connections,
}


async def flood(
    base_ws: str, kind: str, token: str, seconds: float, tally: Counter[str], worker: int
) -> None:
    """One of the flooder's loops; it runs several at once, all from one address."""
    deadline = now() + seconds
    n = worker
    while now() < deadline:
        try:
            await flood_round(base_ws, kind, token, n, tally)
        except InvalidStatus as exc:  # refused before the websocket opened
            tally[f"refused with HTTP {exc.response.status_code}"] += 1
            await asyncio.sleep(0.01)
        except CLIENT_ERRORS as exc:  # closed at the handshake, or mid-flood
            tally[f"ended by {type(exc).__name__}"] += 1
            await asyncio.sleep(0.01)
        n += 1000


async def flood_worker(args: argparse.Namespace) -> None:
    """The flooder's process (``--flood-worker KIND``): its loops, then its tally as JSON."""
    tally: Counter[str] = Counter()
    await asyncio.gather(
        *(
            flood(args.flood_ws, args.flood_worker, args.flood_token, args.phase_s, tally, worker)
            for worker in range(args.flood_connections)
        )
    )
    print(json.dumps(tally))


async def start_flooder(
    base_ws: str, kind: str, token: str, args: argparse.Namespace
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.abuse",
        "--flood-worker",
        kind,
        "--flood-ws",
        base_ws,
        "--flood-token",
        token,
        "--phase-s",
        str(args.phase_s),
        "--flood-connections",
        str(args.flood_connections),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )


async def measure(
    name: str, base_ws: str, args: argparse.Namespace, kind: str = "", token: str = ""
) -> Phase:
    phase = Phase(name)
    spread = args.interval_s / args.people
    people = [
        person(base_ws, f"127.0.0.{10 + i}", phase, args, i * spread) for i in range(args.people)
    ]
    flooder = await start_flooder(base_ws, kind, token, args) if kind else None
    await asyncio.gather(*people)
    if flooder is not None:
        out, _ = await flooder.communicate()
        phase.flood.update(json.loads(out.decode().strip().splitlines()[-1]))
    return phase


def pin(pid: int, cpus: set[int], args: argparse.Namespace) -> None:
    """Pin a process to ``cpus`` (``--pin``: server and clients on separate cores)."""
    if args.pin:
        os.sched_setaffinity(pid, cpus)


def cores() -> tuple[set[int], set[int]]:
    """The server's core and the clients' cores."""
    available = sorted(os.sched_getaffinity(0))
    return {available[0]}, set(available[1:]) or {available[0]}


async def seed_long_transcript(database_url: str, data_dir: Path, lines: int) -> str:
    """A session with ``lines`` lines written as the person would, and its token."""
    settings = Settings(env="development", database_url=database_url, data_dir=data_dir)
    db = Database(settings.effective_database_url)
    svc = Services(settings=settings, db=db, broker=MemoryBroker(), bot=build_bot(settings))
    try:
        session, token = await start_session(svc, locale="en")
        for n in range(lines):
            await post_user_message(svc, session_id=session.id, client_id=f"l{n}", text=f"{n}")
    finally:
        await db.dispose()
    return token


async def run(args: argparse.Namespace) -> list[Phase]:
    phases = []
    server_cpus, client_cpus = cores()
    pin(os.getpid(), client_cpus, args)  # the flooder, started from here, inherits it
    echo = await start_baseline("echo")
    pin(echo.pid, server_cpus, args)
    try:
        phases.append(await measure("bare", echo.ws, args))
    finally:
        await stop_server(echo)

    databases = Databases(source=ROOT, pg_dsn=args.pg_dsn, staff=1)
    try:
        async with databases.fresh(args.backend, "abuse") as db:
            token = await seed_long_transcript(db.url, db.data_dir, args.transcript)
            port = free_port()
            env = {
                **GATEWAY_ENV,
                "PYTHONPATH": str(ROOT),
                "HAVEN_DATABASE_URL": db.url,
                "HAVEN_DATA_DIR": str(db.data_dir),
                "HAVEN_PORT": str(port),
                "HAVEN_PUBLIC_URL": f"http://127.0.0.1:{port}",
            }
            gateway = await start_server(
                "gateway",
                "gateway.app:create_app",
                env=env,
                factory=True,
                port=port,
                health="/healthz",
            )
            pin(gateway.pid, server_cpus, args)
            try:
                phases.append(await measure("quiet", gateway.ws, args))
                for kind in args.floods.split(","):
                    phases.append(await measure(kind, gateway.ws, args, kind, token))
                errors = gateway.error_lines()
            finally:
                await stop_server(gateway)
    finally:
        await databases.close()
    print(f"gateway log lines reporting an error: {errors}")
    return phases


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--phase-s", type=float, default=30.0)
    # 30 lines a minute: under the per-session limit (HAVEN_LIMIT_MESSAGES_PER_SESSION).
    parser.add_argument("--interval-s", type=float, default=2.0)
    parser.add_argument("--transcript", type=int, default=2000)
    parser.add_argument("--pg-dsn", default=Config().pg_dsn)
    # As many as the gateway lets one address hold open (HAVEN_MAX_CONNECTIONS_PER_ADDRESS).
    parser.add_argument("--flood-connections", type=int, default=20)
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="leave the server and the clients to the scheduler (default: separate cores)",
    )
    # The flooder's own process (started by the bench itself).
    parser.add_argument("--flood-worker", choices=tuple(FLOODS), help=argparse.SUPPRESS)
    parser.add_argument("--flood-ws", help=argparse.SUPPRESS)
    parser.add_argument("--flood-token", help=argparse.SUPPRESS)
    parser.add_argument(
        "--floods",
        default="mixed",
        help=f"flood phases, comma-separated, of {', '.join(FLOODS)} (default mixed)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.flood_worker:
        asyncio.run(flood_worker(args))
        return
    if os.cpu_count() == 1:
        args.pin = False
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    print(
        f"abuse bench {started}: {args.backend}, {args.people} people, one line every "
        f"{args.interval_s} s for {args.phase_s} s a phase; a {args.transcript}-line "
        f"transcript to replay; {os.cpu_count()} cores"
        + ("; server on its own core" if args.pin else "; nothing pinned")
    )
    phases = asyncio.run(run(args))
    print("say -> ack latency of the people (not the flooder):")
    for phase in phases:
        print(phase.row())


if __name__ == "__main__":
    main()
