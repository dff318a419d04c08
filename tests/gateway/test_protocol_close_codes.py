"""Every close code of PROTOCOL.md, and the hello's edge cases, over a real server.

These do not depend on the database, so they run on SQLite only.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from websockets.asyncio.client import connect as ws_connect

from tests.chat_client import ChatClient
from tests.conftest import LiveServer
from tests.gateway.test_protocol_support import (
    close_code,
    greeted_chat,
    serve,
    sqlite_settings,
)

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def server(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[LiveServer]:
    settings = sqlite_settings(sqlite_template, tmp_path, hello_timeout_s=0.3, max_bad_frames=2)
    async with serve(settings) as running:
        yield running


async def connect(server: LiveServer, origin: str | None = None) -> ChatClient:
    return await ChatClient.open(server.ws, origin or server.origin)


@pytest.mark.parametrize(
    "first",
    [
        {"type": "say", "client_id": "a", "text": "hi"},  # not a hello
        {"type": "hello", "v": 0},  # no such version
        {"type": "hello", "token": None},  # no version
        {"type": "hello", "v": 1, "token": 12},  # wrong type
        {"type": "hello", "v": 1, "last_seq": -1},
        {"type": "hello", "v": 1, "locale": "en\nx"},
        {"type": "hello", "v": 1, "colour": "red"},  # unknown field
        "{not json",
        b'{"type": "hello", "v": 1}',  # binary frames are not JSON text
    ],
)
async def test_4400_when_the_first_frame_is_not_a_valid_hello(
    server: LiveServer, first: object
) -> None:
    client = await connect(server)
    await client.send_raw(first if isinstance(first, str | bytes) else json.dumps(first))
    error = await client.recv()
    assert (error["type"], error["code"]) == ("error", "bad_frame")
    assert await close_code(client) == 4400


async def test_a_later_protocol_version_is_answered_in_version_1(server: LiveServer) -> None:
    client = await connect(server)
    welcome = await client.hello(v=2)
    assert welcome["v"] == 1 and welcome["state"] == "bot"
    await client.close()


async def test_4404_for_an_unknown_or_erased_token(server: LiveServer) -> None:
    client = await greeted_chat(server)
    await client.send({"type": "erase"})
    assert (await client.recv_until(lambda f: f["type"] == "erased"))[-1] == {"type": "erased"}
    assert await close_code(client) == 1000
    for token in (client.token, "never-issued"):
        stranger = await connect(server)
        await stranger.send({"type": "hello", "v": 1, "token": token, "last_seq": 0})
        assert (await stranger.recv())["code"] == "unknown_token"
        assert await close_code(stranger) == 4404


async def test_4408_when_no_hello_comes_in_time(server: LiveServer) -> None:
    client = await connect(server)
    assert await close_code(client) == 4408


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1:1", None])
async def test_1008_for_a_refused_or_missing_origin(server: LiveServer, origin: str | None) -> None:
    if origin is None:  # not a browser, and no Origin header at all
        client = ChatClient(await ws_connect(f"{server.ws}/ws/chat"))
    else:
        client = await connect(server, origin)
    assert await close_code(client) == 1008


async def test_1009_for_a_frame_over_the_servers_hard_limit(server: LiveServer) -> None:
    client = await greeted_chat(server)
    hard_limit = server.settings.max_frame_bytes * 4
    await client.say("x" * hard_limit)
    assert await close_code(client) == 1009


async def test_4429_after_repeated_bad_frames(server: LiveServer) -> None:
    client = await greeted_chat(server)
    for _ in range(3):
        await client.send_raw('{"type": "nonsense"}')
    assert await close_code(client) == 4429
    errors = [f["code"] for f in client.seen if f["type"] == "error"]
    assert errors == ["bad_frame"] * 3
