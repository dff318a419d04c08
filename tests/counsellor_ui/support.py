"""Helpers for the counsellor workspace tests: a clock to move, quick setup, event capture."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

import gateway.actions.signin
import gateway.actions.staff
import gateway.app
from counsellor_ui.auth import SESSION_COOKIE, cookie_value
from gateway.actions.signin import start_staff_session
from gateway.events import Event, decode_event, encode_event
from gateway.models import ChatSession, Message, Staff, utcnow
from gateway.services import Services
from tests.conftest import LiveServer

# Cheap Argon2id for tests (the real parameters take a third of a second a hash).
QUICK_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def use_quick_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash passwords cheaply (the bot engine is already loaded once per configuration)."""
    monkeypatch.setattr(gateway.actions.staff, "hasher", QUICK_HASHER)
    monkeypatch.setattr(gateway.actions.signin, "hasher", QUICK_HASHER)


class Clock:
    """A clock the test moves by hand; starts at the real time so row defaults agree."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Recorder:
    """Events published on some channels, each checked against its strict schema."""

    events: list[tuple[str, Event]] = field(default_factory=list)

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for _, e in self.events if isinstance(e, kind)]

    def on(self, channel: str) -> list[Event]:
        return [e for c, e in self.events if c == channel]


@contextlib.asynccontextmanager
async def recording(svc: Services, *channels: str) -> AsyncIterator[Recorder]:
    """Record what is published on each of ``channels`` while the block runs.

    Events cross the broker encoded, so each one recorded has passed its strict
    schema (unknown fields refused) on the way out and on the way in.
    """
    recorder = Recorder()
    async with contextlib.AsyncExitStack() as stack:
        subscriptions = [
            (channel, await stack.enter_async_context(svc.broker.subscribe(channel)))
            for channel in channels
        ]
        yield recorder
        for channel, subscription in subscriptions:
            while True:
                try:
                    event = await asyncio.wait_for(subscription.get(), 0.02)
                except TimeoutError:
                    break
                assert decode_event(encode_event(event)) == event
                recorder.events.append((channel, event))


async def chat_row(svc: Services, session_id: int) -> ChatSession:
    async with svc.read() as session:
        chat = await session.get(ChatSession, session_id)
    assert chat is not None
    return chat


async def transcript(svc: Services, session_id: int) -> list[Message]:
    async with svc.read() as session:
        rows = await session.execute(
            select(Message).where(Message.session_id == session_id).order_by(Message.seq)
        )
        return list(rows.scalars())


async def assert_gap_free(svc: Services, session_id: int) -> list[Message]:
    """The transcript's seqs are 1..n with no gap, and last_seq is n."""
    lines = await transcript(svc, session_id)
    assert [m.seq for m in lines] == list(range(1, len(lines) + 1))
    assert (await chat_row(svc, session_id)).last_seq == len(lines)
    return lines


@dataclass
class Browserless:
    """A signed-in staff member driving the workspace over HTTP and its websocket."""

    server: LiveServer
    staff: Staff
    session_id: str
    csrf: str

    @property
    def cookie(self) -> str:
        return cookie_value(self.server.settings.secret_key, self.session_id)

    @property
    def svc(self) -> Services:
        services: Services = self.server.app.state.runtime.svc
        return services

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.server.http,
            cookies={SESSION_COOKIE: self.cookie},
            follow_redirects=False,
        )

    async def post(self, path: str, **fields: str) -> httpx.Response:
        async with self.http() as client:
            return await client.post(path, data={"csrf_token": self.csrf, **fields})

    async def get(self, path: str) -> httpx.Response:
        async with self.http() as client:
            return await client.get(path)

    async def socket(
        self,
        session_id: int | None = None,
        after: int = 0,
        origin: str | None = None,
        watch: bool = False,
        board: bool = False,
    ) -> ClientConnection:
        query = f"?session={session_id}&after={after}" if session_id is not None else ""
        query += "&watch=1" if watch else ""
        query += ("&" if query else "?") + "board=1" if board else ""
        return await connect(
            f"{self.server.ws}/counsellor/ws{query}",
            origin=Origin(origin or self.server.origin),
            additional_headers={"Cookie": f"{SESSION_COOKIE}={self.cookie}"},
        )


async def signed_in_as(server: LiveServer, staff: Staff) -> Browserless:
    svc: Services = server.app.state.runtime.svc
    session_id, csrf = await start_staff_session(svc, staff_id=staff.id)
    return Browserless(server, staff, session_id, csrf)


async def frames_until(
    ws: ClientConnection, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0
) -> list[dict[str, Any]]:
    """Frames received up to and including the first that matches ``predicate``."""
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            got.append(frame)
            if predicate(frame):
                return got


async def quiet_frames(ws: ClientConnection, seconds: float = 0.3) -> list[dict[str, Any]]:
    """Whatever arrives within ``seconds`` (to check that nothing of a kind comes)."""
    got: list[dict[str, Any]] = []
    with contextlib.suppress(TimeoutError, ConnectionClosed):
        while True:
            got.append(json.loads(await asyncio.wait_for(ws.recv(), seconds)))
    return got
