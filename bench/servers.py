"""The servers under test, each a uvicorn subprocess on a free loopback port.

All of them run with the same uvicorn options (no per-message deflate, log
level warning, no access log, the gateway's 64 KiB frame limit); what differs
is the application: the gateway, ``bench.echo_app`` or ``bench.relay_app``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.clients import ORIGIN
from bench.config import ROOT
from gateway.settings import ABUSE_LIMITS

UVICORN_OPTIONS = (
    "--host",
    "127.0.0.1",
    "--log-level",
    "warning",
    "--no-access-log",
    "--ws-per-message-deflate",
    "false",
    "--ws-max-size",
    str(64 * 1024),
    "--timeout-graceful-shutdown",
    "2",
    "--backlog",
    "4096",
)

# Settings of every gateway the bench starts (gateway/settings.py; .env.example).
GATEWAY_SETTINGS = {
    "HAVEN_ENV": "development",
    "HAVEN_ALLOWED_ORIGINS": ORIGIN,
    # Bot replies without a typing pause: the bench measures the gateway, not the pause.
    "HAVEN_BOT_TYPING_CPS": "0",
    "HAVEN_BOT_TYPING_MIN_S": "0",
    "HAVEN_BOT_TYPING_MAX_S": "0",
    # Limits meant for people, far above what the bench's clients send.
    "HAVEN_RATE_LIMIT_MESSAGES": "1000000",
    "HAVEN_RATE_LIMIT_FRAMES": "1000000",
    "HAVEN_MAX_CONNECTIONS_PER_ADDRESS": "1000000",
    "HAVEN_NEW_CONNECTIONS_PER_ADDRESS_PER_MINUTE": "0",
    "HAVEN_LOGIN_MAX_FAILURES": "1000",
    # Every client of the bench comes from 127.0.0.1: the per-address abuse limits,
    # flood groups and proof of work (gateway/abuse/) are set out of reach
    # (bench/resume_storm.py measures them as shipped).
    **{f"HAVEN_{name.upper()}": "1000000/second" for name in ABUSE_LIMITS},
    "HAVEN_CHALLENGE": "off",
    # Every bench counsellor signs in from 127.0.0.1 (gateway/signin_limits.py).
    "HAVEN_LOGIN_ADDRESS_ATTEMPTS": "1000000",
    # One counsellor holds many of the bench's chats.
    "HAVEN_COUNSELLOR_MAX_CHATS": "100000",
    # No timer may move a chat while it is measured (a claimed chat whose counsellor
    # socket is not open yet, a queued person who disconnected on purpose).
    "HAVEN_COUNSELLOR_GRACE_S": "86400",
    "HAVEN_QUEUE_ABANDON_S": "86400",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_environ() -> dict[str, str]:
    """This process's environment without any HAVEN_ setting or proxy of the caller's."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("HAVEN_") and "proxy" not in key.lower()
    }


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def error_lines(self) -> int:
        """Lines in the server's log that report an error (tracebacks, ERROR records)."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return 0
        return sum(
            1 for line in text.splitlines() if "Traceback" in line or line.startswith("ERROR")
        )


async def start_server(
    name: str,
    app: str,
    *,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    factory: bool = False,
    port: int | None = None,
    health: str | None = None,
    timeout_s: float = 60.0,
) -> Server:
    """Start ``uvicorn app`` and wait until it answers (``health``: a path that must be 200)."""
    port = port or free_port()
    log = Path(tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".log")[1])
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        *(["--factory"] if factory else []),
        "--port",
        str(port),
        *UVICORN_OPTIONS,
    ]
    proc = await asyncio.to_thread(_spawn, command, cwd, {**clean_environ(), **(env or {})}, log)
    server = Server(name, port, proc, log)
    try:
        await _wait_ready(server, health, timeout_s)
    except BaseException:
        await stop_server(server)
        raise
    return server


def _spawn(
    command: list[str], cwd: Path, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _wait_ready(server: Server, health: str | None, timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s), httpx.AsyncClient(trust_env=False, timeout=5) as http:
        while True:
            if server.proc.poll() is not None:
                raise RuntimeError(f"{server.name} exited at start:\n{server.log_tail()}")
            try:
                if health is None:
                    _reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                    writer.close()
                    return
                answer = await http.get(server.http + health)
                # The gateway says "warm" once its trigger phrases are compiled: measuring
                # before that would time the start-up compile, not the service.
                if answer.status_code == 200 and answer.json().get("warm", True):
                    return
            except (OSError, httpx.HTTPError):
                pass
            await asyncio.sleep(0.05)


async def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            await asyncio.to_thread(server.proc.wait, 15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            await asyncio.to_thread(server.proc.wait, 10)
    with contextlib.suppress(OSError):
        server.log.unlink()


def gateway_env(
    *,
    source: Path,
    database_url: str,
    data_dir: Path,
    port: int,
    broker_url: str = "memory://",
    channel_prefix: str = "haven:",
) -> dict[str, str]:
    return {
        **GATEWAY_SETTINGS,
        "PYTHONPATH": str(source),
        "HAVEN_DATABASE_URL": database_url,
        "HAVEN_DATA_DIR": str(data_dir),
        "HAVEN_HOST": "127.0.0.1",
        "HAVEN_PORT": str(port),
        "HAVEN_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "HAVEN_BROKER_URL": broker_url,
        "HAVEN_BROKER_CHANNEL_PREFIX": channel_prefix,
    }


async def start_gateway(
    name: str,
    *,
    source: Path,
    database_url: str,
    data_dir: Path,
    broker_url: str = "memory://",
    channel_prefix: str = "haven:",
) -> Server:
    port = free_port()
    env = gateway_env(
        source=source,
        database_url=database_url,
        data_dir=data_dir,
        port=port,
        broker_url=broker_url,
        channel_prefix=channel_prefix,
    )
    return await start_server(
        name,
        "gateway.app:create_app",
        cwd=source,
        env=env,
        factory=True,
        port=port,
        health="/healthz",
    )


async def start_baseline(kind: str) -> Server:
    """``echo`` (acks every say) or ``relay`` (acks, and forwards to the paired socket)."""
    return await start_server(kind, f"bench.{kind}_app:app", env={"PYTHONPATH": str(ROOT)})
