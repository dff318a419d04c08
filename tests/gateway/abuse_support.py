"""Helpers of the abuse-limit tests (tests/gateway/test_abuse_*.py; no tests here).

Every address on 127.0.0.0/8 is this machine's loopback on Linux, so a client that
binds its end of the connection to 127.0.0.2 or 127.0.0.3 reaches the real server
on 127.0.0.1 as a different address: one attacker and one person, say.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from gateway.actions.records import append_message, lock_session
from gateway.services import Services
from gateway.types import SenderKind
from tests.chat_client import ChatClient, Frame
from tests.conftest import ABUSE_DEFAULTS, LiveServer
from tests.gateway.test_protocol_support import serve, sqlite_settings

ATTACKER = "127.0.0.2"
PERSON = "127.0.0.3"
SOMEONE_ELSE = "127.0.0.4"
CRISIS = "I want to end my life"
TYPING_OFF = {"type": "typing", "from": "bot", "on": False}


def with_limits(**limits: Any) -> dict[str, Any]:
    """The shipped abuse limits, with these changed."""
    return {**ABUSE_DEFAULTS, **limits}


@contextlib.asynccontextmanager
async def serve_limited(template: Path, tmp_path: Path, **limits: Any) -> AsyncIterator[LiveServer]:
    """A real server on SQLite with the shipped abuse limits, these changed."""
    async with serve(sqlite_settings(template, tmp_path, **with_limits(**limits))) as server:
        yield server


async def connect_from(server: LiveServer, address: str) -> ChatClient:
    return await ChatClient.open(server.ws, server.origin, local_addr=(address, 0))


async def hello_from(server: LiveServer, address: str, **hello: Any) -> tuple[ChatClient, Frame]:
    """A client from ``address`` and the server's first answer to its hello (a
    ``welcome``, an ``error`` or a ``challenge``)."""
    client = await connect_from(server, address)
    await client.send({"type": "hello", "v": 1, "token": None, "last_seq": 0, **hello})
    first = await client.recv(15)  # a loaded machine may take a while to answer
    if first["type"] == "welcome":
        client.welcome = first
        client.token = first.get("token")
    return client, first


async def greeted_from(server: LiveServer, address: str) -> ChatClient:
    """A new session from ``address`` whose greeting has arrived in full."""
    client, first = await hello_from(server, address)
    assert first["type"] == "welcome", first
    await client.recv_until(lambda f: f == TYPING_OFF, timeout=15)
    return client


async def crisis_from(server: LiveServer, address: str) -> ChatClient:
    """A person (or a script) from ``address`` who writes a crisis message and is
    put in the queue, as the observed attack's sessions were."""
    client = await greeted_from(server, address)
    await client.say(CRISIS)
    got = await client.recv_until(lambda f: f["type"] in ("queue", "error"), timeout=15)
    assert got[-1]["type"] == "queue", got
    return client


async def add_lines(svc: Services, session_id: int, texts: Sequence[str]) -> int:
    """Store these bot lines in a session (a long transcript, quickly); its last seq."""
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        for text in texts:
            await append_message(tx, chat, sender=SenderKind.BOT, text=text, publish=False)
        return chat.last_seq
