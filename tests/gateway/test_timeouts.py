"""The gateway closes half-sent requests, silent and idle connections itself.

``haven serve`` runs in a process of its own, as an operator runs it, with a 1 s
header timeout and a 1 s keep-alive timeout; raw sockets then behave as a slowloris
client would. Before ``gateway/connection_timeouts.py``, uvicorn waited forever for
a request's headers: each of these sockets stayed open for as long as the client
liked (the guard below would fail them). The keep-alive timeout was uvicorn's fixed
5 s; it is now a setting, and checked here too.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.services import free_port

HEADER_TIMEOUT_S = 1.0
KEEP_ALIVE_S = 1.0
# How long a test waits for the server to close a socket before calling it a failure:
# far above the timeouts, so a slow shared machine does not fail it.
GUARD_S = 20.0
HAVEN = Path(sys.executable).with_name("haven")


class Served:
    def __init__(self, port: int) -> None:
        self.port = port

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=GUARD_S)
        return sock


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``haven serve --migrate`` on SQLite, with short timeouts."""
    data = tmp_path_factory.mktemp("timeouts")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    env.update(
        HAVEN_ENV="development",
        HAVEN_DATA_DIR=str(data),
        HAVEN_HEADER_TIMEOUT_S=str(HEADER_TIMEOUT_S),
        HAVEN_KEEP_ALIVE_TIMEOUT_S=str(KEEP_ALIVE_S),
    )
    log = (data / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(HAVEN), "serve", "--migrate", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, (data / "serve.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("haven serve did not start")
        yield Served(port)
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


def closed_by_server(sock: socket.socket, trickle: bytes = b"") -> float:
    """Seconds until the server closes ``sock`` (sending ``trickle`` a byte at a time)."""
    started = time.monotonic()
    sock.settimeout(0.25)
    pending = list(trickle)
    while time.monotonic() - started < GUARD_S:
        if pending:
            try:
                sock.send(bytes([pending.pop(0)]))
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - started
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - started
        if data == b"":
            return time.monotonic() - started
    pytest.fail(f"the server kept the connection open for {GUARD_S} s")


def test_a_client_that_connects_and_sends_nothing_is_closed(served: Served) -> None:
    with served.connect() as sock:
        print(f"silent: closed after {closed_by_server(sock):.2f} s")


def test_a_request_line_trickled_a_byte_at_a_time_is_closed(served: Served) -> None:
    with served.connect() as sock:
        sock.sendall(b"GET /healthz HTT")
        # More bytes keep coming, four a second: they buy no time.
        took = closed_by_server(sock, trickle=b"P/1.1\r\nHost: x\r\nX-a: " + b"a" * 200)
        print(f"slowloris: closed after {took:.2f} s")


def test_a_half_sent_websocket_upgrade_is_closed(served: Served) -> None:
    with served.connect() as sock:
        sock.sendall(
            b"GET /ws/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\n"
        )
        print(f"half upgrade: closed after {closed_by_server(sock):.2f} s")


def test_an_idle_keep_alive_connection_is_closed_after_its_answer(served: Served) -> None:
    with served.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200")
        print(f"keep-alive: closed after {closed_by_server(sock):.2f} s")


def test_whole_requests_and_open_websockets_are_not_cut_off(served: Served) -> None:
    with served.connect() as sock:
        # Headers in two parts, within the deadline, then a second request on the
        # same connection: both answered.
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        sock.sendall(b"Host: 127.0.0.1\r\n\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answers = b""
        while answers.count(b"HTTP/1.1 200") < 2:
            chunk = sock.recv(4096)
            assert chunk, answers
            answers += chunk

    async def chat() -> dict[str, object]:
        origin = f"http://127.0.0.1:{served.port}"
        async with connect(f"ws://127.0.0.1:{served.port}/ws/chat", origin=origin) as ws:  # type: ignore[arg-type]
            # Open past the header deadline: an upgraded connection is not an HTTP request.
            await asyncio.sleep(HEADER_TIMEOUT_S * 2)
            await ws.send(json.dumps({"type": "hello", "v": 1, "token": None, "last_seq": 0}))
            frame: dict[str, object] = json.loads(await asyncio.wait_for(ws.recv(), GUARD_S))
            return frame

    assert asyncio.run(chat())["type"] == "welcome"
