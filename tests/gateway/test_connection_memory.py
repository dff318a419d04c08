"""No memory kept per connection: thousands of widget connections come and go.

The report behind issue 12 saw memory grow about 1 KB per connection across fuzz
rounds and not come back. Here a real server (uvicorn on a loopback port, in this
process so that ``tracemalloc`` sees every allocation the gateway makes) takes
widget connections that each say ``hello`` and close, ten at a time: 800 resumes
of one session (a connection and nothing else), and 600 new sessions (each also
writes a session and the bot's greeting). After a warm-up, the measured visits run
in two halves: the second may leave less than 200 bytes per connection behind (a
leak grows in both halves; a bounded cache filling once does not). The figures are
printed; on failure the test names the lines that kept the memory.
"""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.client import connect
from websockets.typing import Origin

from gateway.settings import Settings
from tests.conftest import LiveServer
from tests.services import free_port
from tests.sqlite_only import database_url  # noqa: F401 - SQLite only

pytestmark = pytest.mark.asyncio

# Resumes: a connection and nothing else (the session and its transcript exist).
RESUMES_WARM_UP, RESUMES = 200, 800
# New sessions, as a fuzzer or a crowd opening the chat: each writes a session and the
# bot's greeting, so fewer of them (the machine is shared).
NEW_WARM_UP, NEW = 100, 600
AT_ONCE = 10
BOUND_BYTES = 200


@pytest_asyncio.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    # make_settings (tests/conftest.py) keeps the abuse limits out of the way with
    # one-second windows: what they count is gone once a window has passed.
    port = free_port()
    # Without the timer loop: its first statistics round, 30 s after the start, builds
    # and caches statements once, in whichever half of the measurement it falls (seen
    # as 500-700 bytes "per connection" in a second half). Connections are measured.
    live = LiveServer(
        replace(settings, port=port, public_url=f"http://127.0.0.1:{port}"), timers=False
    )
    await live.start()
    try:
        # Wait until every trigger phrase is compiled, as a server is before it is busy.
        async with httpx.AsyncClient(base_url=live.http) as client:
            while not (await client.get("/healthz")).json()["warm"]:
                await asyncio.sleep(0.1)
        yield live
    finally:
        await live.stop()


async def one_visit(server: LiveServer, token: str | None = None, last_seq: int = 0) -> int:
    """Open the widget's socket, say hello, read the welcome, close; the last seq seen."""
    async with connect(f"{server.ws}/ws/chat", origin=Origin(server.origin)) as ws:
        await ws.send(json.dumps({"type": "hello", "v": 1, "token": token, "last_seq": last_seq}))
        welcome = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert welcome["type"] == "welcome", welcome
        return int(welcome.get("last_seq") or last_seq)


async def visits(count: int, visit: Callable[[], Awaitable[object]]) -> None:
    for _ in range(count // AT_ONCE):
        await asyncio.gather(*(visit() for _ in range(AT_ONCE)))


async def settled(server: LiveServer) -> None:
    """Let closing connections finish on the server (every one of them: a loaded
    machine may still be closing some), then collect garbage."""
    addresses = server.app.state.runtime.addresses
    for _ in range(200):
        if addresses.open == 0:
            break
        await asyncio.sleep(0.05)
    for _ in range(30):  # past the abuse limits' one-second windows (make_settings)
        await asyncio.sleep(0.05)
    gc.collect()


async def kept_per_connection(
    server: LiveServer, warm_up: int, measured: int, visit: Callable[[], Awaitable[object]]
) -> tuple[float, str]:
    """Bytes still allocated per connection over the second half of ``measured`` visits.

    The measured visits run in two equal halves. Caches that fill once and stop (the
    SQL compiler's, a dict that grows its table) show in the first half; what every
    connection leaves behind shows in both. The second half is the one that counts.
    """
    half = measured // 2
    tracemalloc.start(1)
    try:
        await visits(warm_up, visit)
        await settled(server)
        first = tracemalloc.take_snapshot()
        await visits(half, visit)
        await settled(server)
        middle = tracemalloc.take_snapshot()
        await visits(half, visit)
        await settled(server)
        last = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    keep = [tracemalloc.Filter(False, tracemalloc.__file__)]
    first, middle, last = (s.filter_traces(keep) for s in (first, middle, last))
    filling = sum(stat.size_diff for stat in middle.compare_to(first, "lineno")) / half
    growth = last.compare_to(middle, "lineno")
    per_connection = sum(stat.size_diff for stat in growth) / half
    top = "\n".join(str(stat) for stat in growth[:10])
    print(
        f"\n{filling:.1f} then {per_connection:.1f} bytes kept per connection "
        f"over two halves of {measured}\n{top}"
    )
    return per_connection, top


@pytest.mark.timeout(900)
async def test_resumed_connections_leave_no_memory_behind(server: LiveServer) -> None:
    async with connect(f"{server.ws}/ws/chat", origin=Origin(server.origin)) as ws:
        await ws.send(json.dumps({"type": "hello", "v": 1, "token": None, "last_seq": 0}))
        token = json.loads(await ws.recv())["token"]
    seq = await one_visit(server, token)

    per_connection, top = await kept_per_connection(
        server, RESUMES_WARM_UP, RESUMES, lambda: one_visit(server, token, seq)
    )
    assert per_connection < BOUND_BYTES, top


@pytest.mark.timeout(900)
async def test_new_sessions_leave_no_memory_behind_per_connection(server: LiveServer) -> None:
    per_connection, top = await kept_per_connection(
        server, NEW_WARM_UP, NEW, lambda: one_visit(server)
    )
    assert per_connection < BOUND_BYTES, top
