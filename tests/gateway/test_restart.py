"""Kill the server process (SIGKILL) mid-conversation, start it again, resume.

The server runs as operators run it: ``python -m uvicorn gateway.app:create_app
--factory`` with the protocol's limits on the command line and settings from
``HAVEN_*`` variables. After the restart the client resumes with its token and
``last_seq``: every acknowledged message is there exactly once, in order, and
``seq`` has no gap, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import IO

import httpx
import pytest

from gateway.logs import DropClientAddresses, uvicorn_log_config
from tests.chat_client import ChatClient, Frame, is_ack
from tests.gateway.test_protocol_support import assert_gap_free, chat_row, stored_messages
from tests.services import free_port

pytestmark = pytest.mark.asyncio
ROOT = Path(__file__).resolve().parents[2]
TYPING_ON = {"type": "typing", "from": "bot", "on": True}
TYPING_OFF = {"type": "typing", "from": "bot", "on": False}


class ServerProcess:
    """The gateway in a process of its own, on a fixed port, logging to a file."""

    def __init__(self, database_url: str, data_dir: Path, port: int) -> None:
        self.port = port
        self.log_path = data_dir / "server.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
        self.env.update(
            HAVEN_ENV="development",
            HAVEN_DATABASE_URL=database_url,
            HAVEN_DATA_DIR=str(data_dir),
            HAVEN_PORT=str(port),
            HAVEN_BROKER_URL="memory://",
            # A moment of "typing" before each bot message: time to kill the server mid-turn.
            HAVEN_BOT_TYPING_CPS="1000",
            HAVEN_BOT_TYPING_MIN_S="0.15",
            HAVEN_BOT_TYPING_MAX_S="0.15",
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def log_config(self) -> Path:
        """``haven serve``'s logging (no client addresses) as a file for ``--log-config``."""
        config = uvicorn_log_config()
        dotted = f"{DropClientAddresses.__module__}.{DropClientAddresses.__qualname__}"
        config["filters"]["privacy"]["()"] = dotted
        path = self.log_path.with_name("logging.json")
        path.write_text(json.dumps(config))
        return path

    async def start(self) -> None:
        command = [sys.executable, "-m", "uvicorn", "gateway.app:create_app", "--factory"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--no-access-log"]
        command += ["--log-config", str(self.log_config())]
        command += ["--ws-max-size", str(16 * 1024 * 4), "--ws-per-message-deflate", "false"]
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        async with httpx.AsyncClient() as http:
            for _ in range(1200):  # up to 60 s: far longer beside parallel test workers
                if self.proc.poll() is not None:
                    pytest.fail(f"the server exited:\n{self.log_path.read_text()}")
                try:
                    if (await http.get(f"{self.origin}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        pytest.fail(f"the server did not start:\n{self.log_path.read_text()}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: no shutdown, no flush, nothing graceful
        self.stop()

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
            self.proc.wait(timeout=15)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


def seqs(frames: list[Frame]) -> list[int]:
    return [f["seq"] for f in frames if f["type"] in ("message", "ack")]


async def test_acknowledged_messages_survive_a_sigkill_exactly_once_in_order(
    database_url: str, tmp_path: Path
) -> None:
    server = ServerProcess(database_url, tmp_path, free_port())
    try:
        await server.start()
        client = await ChatClient.open(server.ws, server.origin)
        # Started with --ws-per-message-deflate false: nothing is negotiated.
        assert client.ws.response is not None
        assert "Sec-WebSocket-Extensions" not in client.ws.response.headers
        await client.hello()
        await client.recv_until(lambda f: f == TYPING_OFF)
        acked: dict[str, int] = {}
        for text in ("hello", "I feel anxious"):
            cid = await client.say(text)
            acked[cid] = (await client.recv_until(is_ack(cid)))[-1]["seq"]
        # The bot's replies are stored; it is "typing" the first one. A message is in flight.
        await client.recv_until(lambda f: f == TYPING_ON)
        in_flight = await client.say("are you still there?")
        server.kill()
        before = client.seen
        client_port = str(client.ws.local_address[1])

        await server.start()
        resumed = await ChatClient.open(server.ws, server.origin)
        last_seen = max(seqs(before))
        welcome = await resumed.hello(token=client.token, last_seq=last_seen)
        stored = welcome["last_seq"]
        replay: list[Frame] = []
        if stored > last_seen:
            replay = await resumed.recv_until(lambda f: f.get("seq") == stored)
        assert seqs(replay) == list(range(last_seen + 1, stored + 1))
        # Resent with the same client_id until acknowledged: stored once, before or now.
        await resumed.say("are you still there?", client_id=in_flight)
        acked[in_flight] = (await resumed.recv_until(is_ack(in_flight)))[-1]["seq"]
        if acked[in_flight] > stored:  # stored only now: the bot answers it now
            await resumed.recv_until(lambda f: f == TYPING_OFF)
        cid = await resumed.say("thank you")
        acked[cid] = (await resumed.recv_until(is_ack(cid)))[-1]["seq"]
        await resumed.recv_until(lambda f: f == TYPING_OFF)
        await resumed.close()
    finally:
        server.stop()

    assert client.token is not None
    row = await chat_row(database_url, client.token)
    rows = await stored_messages(database_url, row.id)
    assert_gap_free(rows, row.last_seq)
    assert {m.client_id: m.seq for m in rows if m.sender == "user"} == acked
    # In order on the resumed connection, and across both connections every seq
    # exactly once (a message stored before the kill but not acknowledged is shown
    # on resume and then acknowledged when resent: the widget matches its client_id).
    shown = [f["seq"] for f in resumed.seen if f["type"] == "message"]
    assert shown == sorted(set(shown))
    everything = seqs(before) + seqs(resumed.seen)
    if acked[in_flight] <= stored:
        everything.remove(acked[in_flight])
    assert sorted(everything) == list(range(1, row.last_seq + 1))
    assert client_port not in server.log_path.read_text()  # client addresses are never logged
