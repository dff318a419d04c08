"""Several gateway processes on one PostgreSQL database and one Redis, driven from outside.

Everything here talks to the gateway the way its users and operators do: the
``haven create-user`` command for staff accounts, ``python -m uvicorn
gateway.app:create_app --factory`` with ``HAVEN_*`` variables to run it, the
widget websocket, the counsellor pages and websocket over HTTP, and plain SQL
on the database for assertions. Nothing imports the gateway's internals, so
the tests that use this module stay valid while those internals change.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import asyncpg
import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from tests.chat_client import ChatClient, Frame
from tests.services import PG_HOST, PG_PORT, PG_USER, free_port, port_open

ROOT = Path(__file__).resolve().parents[1]
# The charity's site that embeds the widget, and the gateway's own public address
# (both processes sit behind one address in production, so they share these).
WIDGET_ORIGIN = "https://www.example.org"
PUBLIC_URL = "http://gateway.test"
# Both processes must sign staff cookies with the same key.
SECRET_KEY = "two-gateway-processes-share-this-secret-key"
PASSWORD = "a long enough test password"
SESSION_COOKIE = "haven_staff"
TYPING_OFF = {"type": "typing", "from": "bot", "on": False}


# --- processes ---------------------------------------------------------------


def gateway_environment(
    database_url: str, data_dir: Path, broker_url: str, channel_prefix: str, **settings: object
) -> dict[str, str]:
    """``HAVEN_*`` variables for a gateway; ``settings`` are extra ones (``heartbeat_s=1``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    env.update(
        HAVEN_ENV="development",
        HAVEN_SECRET_KEY=SECRET_KEY,
        HAVEN_DATABASE_URL=database_url,
        HAVEN_DATA_DIR=str(data_dir),
        HAVEN_BROKER_URL=broker_url,
        HAVEN_BROKER_CHANNEL_PREFIX=channel_prefix,
        HAVEN_PUBLIC_URL=PUBLIC_URL,
        HAVEN_ALLOWED_ORIGINS=f"{WIDGET_ORIGIN},{PUBLIC_URL}",
        HAVEN_BOT_TYPING_CPS="0",
        HAVEN_BOT_TYPING_MIN_S="0",
        HAVEN_BOT_TYPING_MAX_S="0",
    )
    env.update({f"HAVEN_{name.upper()}": str(value) for name, value in settings.items()})
    return env


class GatewayProcess:
    """One gateway: uvicorn in a process of its own, on a fixed loopback port."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.env = {**env, "HAVEN_PORT": str(self.port)}
        self.log_path = log_dir / f"gateway-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __repr__(self) -> str:
        return f"<gateway {self.name} on {self.port}>"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def command(self) -> list[str]:
        """How the process is started (its output, both streams, goes to ``log_path``)."""
        command = [sys.executable, "-m", "uvicorn", "gateway.app:create_app", "--factory"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--no-access-log"]
        command += ["--log-level", "warning", "--ws-per-message-deflate", "false"]
        return command

    def launch(self) -> None:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.command(), cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )

    async def wait_ready(self, timeout: float = 90.0) -> None:
        # Generous: a process start takes seconds alone, far longer on a machine
        # shared by parallel test workers (it returns as soon as /healthz answers).
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if not self.running:
                    raise RuntimeError(f"{self} exited:\n{self.log_text()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{self.http}/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.05)
        raise RuntimeError(f"{self} did not start:\n{self.log_text()}")

    async def start(self) -> None:
        self.launch()
        await self.wait_ready()

    def kill(self) -> None:
        """SIGKILL: no shutdown, nothing flushed, sockets dropped by the kernel."""
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
        self.stop()

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


class RedisProcess:
    """A private redis-server on a free port, to kill and restart (never the shared one)."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.dir = data_dir
        self.log_path = data_dir / f"redis-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self, timeout: float = 10.0) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.dir)]
        command += ["--logfile", str(self.log_path)]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.log_path.read_text()}")
            if port_open("127.0.0.1", self.port):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None


# --- the database, read for assertions ------------------------------------------


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


class Inspector:
    """Plain SQL on the gateways' database: what is really stored."""

    def __init__(self, database_url: str) -> None:
        self.database = database_name(database_url)

    async def fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, database=self.database
        )
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def staff_id(self, username: str) -> int:
        (row,) = await self.fetch("SELECT id FROM staff WHERE username = $1", username)
        return int(row["id"])

    async def session_of(self, token: str) -> asyncpg.Record:
        """The session row a widget token resumes (the database keeps only its SHA-256)."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        (row,) = await self.fetch("SELECT * FROM chat_sessions WHERE token_hash = $1", digest)
        return row

    async def session(self, session_id: int) -> asyncpg.Record:
        (row,) = await self.fetch("SELECT * FROM chat_sessions WHERE id = $1", session_id)
        return row

    async def messages(self, session_id: int) -> list[asyncpg.Record]:
        return await self.fetch(
            "SELECT seq, sender, text, client_id, created_at FROM messages"
            " WHERE session_id = $1 ORDER BY seq",
            session_id,
        )

    async def gap_free(self, session_id: int) -> list[asyncpg.Record]:
        """The transcript, after checking its seqs are 1..last_seq, each once (PROTOCOL 4)."""
        lines = await self.messages(session_id)
        last_seq = (await self.session(session_id))["last_seq"]
        assert [m["seq"] for m in lines] == list(range(1, last_seq + 1)), [m["seq"] for m in lines]
        return lines


async def eventually(
    probe: Callable[[], Any], *, timeout: float = 15.0, interval: float = 0.1, what: str = ""
) -> Any:
    """Poll ``probe`` (sync or async) until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = probe()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or probe}; last saw {last!r}")
        await asyncio.sleep(interval)


# --- staff ---------------------------------------------------------------------


def create_staff_accounts(
    database_url: str, data_dir: Path, accounts: Iterable[tuple[str, str, str]]
) -> None:
    """``haven create-user`` for each (username, display name, role), side by side.

    Run as ``python -m gateway.cli`` from the checkout, so that it is the same code
    as the gateways under test (the ``haven`` script is the same entry point).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    env.update(HAVEN_DATABASE_URL=database_url, HAVEN_DATA_DIR=str(data_dir))
    running = []
    for username, name, role in accounts:
        command = [sys.executable, "-m", "gateway.cli", "create-user", username]
        command += ["--name", name, "--role", role]
        command.append("--password-stdin")
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        running.append((username, proc))
    for username, proc in running:
        output, _ = proc.communicate(f"{PASSWORD}\n".encode(), timeout=60)
        assert proc.returncode == 0, f"haven create-user {username}: {output.decode()}"


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')


@dataclass
class Counsellor:
    """A staff member signed in over HTTP; the signed cookie works on every process."""

    username: str
    cookie: str
    csrf: str

    def client(self, gateway: GatewayProcess) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=gateway.http,
            headers={"Cookie": f"{SESSION_COOKIE}={self.cookie}"},
            follow_redirects=False,
            timeout=15,
        )

    async def get(self, gateway: GatewayProcess, path: str) -> httpx.Response:
        async with self.client(gateway) as client:
            return await client.get(path)

    async def post(self, gateway: GatewayProcess, path: str, **fields: str) -> httpx.Response:
        async with self.client(gateway) as client:
            return await client.post(path, data={"csrf_token": self.csrf, **fields})

    async def socket(
        self, gateway: GatewayProcess, session_id: int | None = None, after: int = 0
    ) -> CounsellorSocket:
        query = f"?session={session_id}&after={after}" if session_id is not None else ""
        ws = await connect(
            f"{gateway.ws}/counsellor/ws{query}",
            origin=Origin(PUBLIC_URL),
            additional_headers={"Cookie": f"{SESSION_COOKIE}={self.cookie}"},
        )
        return CounsellorSocket(ws)


async def sign_in(gateway: GatewayProcess, username: str) -> Counsellor:
    """The sign-in form, as a browser fills it in, then the CSRF token from the dashboard."""
    # Argon2 takes a good fraction of a CPU second: more than httpx's 5 s default under load.
    client = httpx.AsyncClient(base_url=gateway.http, follow_redirects=False, timeout=15)
    async with client:
        form = await client.get("/counsellor/sign-in")
        match = _LOGIN_CSRF.search(form.text)
        assert form.status_code == 200 and match, form.text
        done = await client.post(
            "/counsellor/sign-in",
            data={"username": username, "password": PASSWORD, "login_csrf": match.group(1)},
        )
        assert done.status_code == 303, done.text
        cookie = done.cookies.get(SESSION_COOKIE)
        assert cookie, done.headers
    counsellor = Counsellor(username, cookie, "")
    dashboard = await counsellor.get(gateway, "/counsellor/")
    match = _CSRF.search(dashboard.text)
    assert dashboard.status_code == 200 and match, dashboard.text
    counsellor.csrf = match.group(1)
    return counsellor


@dataclass
class CounsellorSocket:
    """The counsellor websocket, with every frame it received kept in ``seen``."""

    ws: ClientConnection
    seen: list[Frame] = field(default_factory=list)

    async def send(self, frame: Frame) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = 5.0) -> Frame:
        frame: Frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.seen.append(frame)
        return frame

    async def recv_until(
        self, predicate: Callable[[Frame], bool], timeout: float = 5.0
    ) -> list[Frame]:
        got: list[Frame] = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no matching frame; got {got}")
            got.append(await self.recv(remaining))
            if predicate(got[-1]):
                return got

    async def quiet(self, seconds: float = 0.3) -> list[Frame]:
        got: list[Frame] = []
        with contextlib.suppress(TimeoutError, ConnectionClosed):
            while True:
                got.append(await self.recv(seconds))
        return got

    async def close(self) -> None:
        await self.ws.close()


# --- the person ------------------------------------------------------------------


async def person_on(gateway: GatewayProcess, **hello: Any) -> ChatClient:
    """A widget connection that has had its welcome (a new session unless ``token``)."""
    client = await ChatClient.open(gateway.ws, WIDGET_ORIGIN)
    await client.hello(**hello)
    return client


async def greeted_person(gateway: GatewayProcess) -> ChatClient:
    """A new session whose greeting from the bot has arrived in full."""
    client = await person_on(gateway)
    await client.recv_until(lambda f: f == TYPING_OFF)
    return client


def offered(frame: Frame, label: str) -> dict[str, str] | None:
    """The quick reply with ``label`` if this bot message offers it."""
    for reply in frame.get("quick_replies") or []:
        if reply["label"] == label:
            return dict(reply)
    return None


async def ask_for_a_person(person: ChatClient, timeout: float = 10.0) -> list[Frame]:
    """``ask_counsellor``; agree that the chat is kept if asked first, and if the bot
    says nobody is free, choose to wait. Until ``queue``."""
    return await person.ask_for_a_person(timeout)


def contiguous_seq(frames: Iterable[Frame], start: int = 0) -> int:
    """The highest seq n such that every seq up to n was received (messages and acks)."""
    got = {f["seq"] for f in frames if f["type"] in ("message", "ack") and "seq" in f}
    n = start
    while n + 1 in got:
        n += 1
    return n


async def listen(client: ChatClient | CounsellorSocket, seconds: float) -> list[Frame]:
    """Every frame that arrives within the next ``seconds`` (a fixed window, not a silence)."""
    got: list[Frame] = []
    deadline = time.monotonic() + seconds
    with contextlib.suppress(TimeoutError, ConnectionClosed):
        while (remaining := deadline - time.monotonic()) > 0:
            got.append(await client.recv(remaining))
    return got
