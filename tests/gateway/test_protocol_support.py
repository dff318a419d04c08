"""Helpers shared by the widget-protocol tests (no tests in this module).

The protocol tests start many servers; loading the bot's scripts takes seconds
and the engine is pure, so they share one engine per bot configuration.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import select
from websockets.exceptions import ConnectionClosed

from gateway.actions.queue import escalate
from gateway.actions.records import lock_session
from gateway.actions.sessions import start_session
from gateway.db import Database
from gateway.models import ChatSession, Message
from gateway.security import hash_token
from gateway.services import Services
from gateway.settings import Settings
from gateway.types import Priority
from tests.chat_client import ChatClient, Frame
from tests.conftest import LiveServer, make_settings
from tests.services import free_port


def sqlite_settings(template: Path, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a test that does not depend on the database: SQLite only."""
    path = tmp_path / "haven.db"
    path.write_bytes(template.read_bytes())
    return make_settings(f"sqlite+aiosqlite:///{path}", tmp_path, **overrides)


@contextlib.asynccontextmanager
async def serve(settings: Settings, **overrides: Any) -> AsyncIterator[LiveServer]:
    """A real uvicorn on a free loopback port."""
    port = free_port()
    settings = replace(settings, port=port, public_url=f"http://127.0.0.1:{port}", **overrides)
    server = LiveServer(settings)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def services_of(server: LiveServer) -> Services:
    svc: Services = server.app.state.runtime.svc
    return svc


async def open_chat(server: LiveServer, **hello: Any) -> ChatClient:
    """A connected client that has had its welcome (a new session unless ``token``)."""
    client = await ChatClient.open(server.ws, server.origin)
    await client.hello(**hello)
    return client


async def greeted_chat(server: LiveServer) -> ChatClient:
    """A new session whose bot greeting has arrived in full (typing off)."""
    client = await open_chat(server)
    await client.recv_until(lambda f: f == {"type": "typing", "from": "bot", "on": False})
    return client


async def close_code(client: ChatClient, timeout: float = 5.0) -> int:
    """Read until the server closes the connection; the close code it sent."""
    with contextlib.suppress(ConnectionClosed):
        while True:
            await client.recv(timeout)
    rcvd = client.ws.protocol.close_rcvd
    return rcvd.code if rcvd is not None else 1006


def is_bot_message(frame: Frame) -> bool:
    return frame["type"] == "message" and frame["from"] == "bot"


def token_bits(token: str) -> int:
    return len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8


async def chat_row(url: str, token: str) -> ChatSession:
    """The session row for a token, read on a connection of the test's own."""
    db = Database(url)
    try:
        async with db.unit_of_work() as session:
            query = select(ChatSession).where(ChatSession.token_hash == hash_token(token))
            return (await session.execute(query)).scalar_one()
    finally:
        await db.dispose()


async def stored_messages(url: str, session_id: int | None = None) -> list[Message]:
    """Messages as stored (all sessions, or one), in order, read independently of the server."""
    db = Database(url)
    try:
        async with db.unit_of_work() as session:
            query = select(Message).order_by(Message.session_id, Message.seq)
            if session_id is not None:
                query = query.where(Message.session_id == session_id)
            return list((await session.execute(query)).scalars())
    finally:
        await db.dispose()


async def all_sessions(url: str) -> list[ChatSession]:
    db = Database(url)
    try:
        async with db.unit_of_work() as session:
            return list((await session.execute(select(ChatSession))).scalars())
    finally:
        await db.dispose()


def assert_gap_free(messages: list[Message], last_seq: int) -> None:
    """Per PROTOCOL.md 4: seq runs 1, 2, ... last_seq with no gap and no repeat."""
    assert [m.seq for m in messages] == list(range(1, last_seq + 1))


async def queued_chat(server: LiveServer) -> tuple[ChatClient, int]:
    """A session put in the queue by the gateway's own action, and a client on it."""
    svc = services_of(server)
    view, token = await start_session(svc, locale="en")
    async with svc.transaction() as tx:
        chat = await lock_session(tx, view.id)
        await escalate(tx, chat, priority=Priority.REQUESTED, reason="request:button")
    client = await open_chat(server, token=token)
    client.token = token
    return client, view.id
