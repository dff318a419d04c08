"""The widget connection's limits (issue 4, item 2), over a real server on SQLite."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from websockets.exceptions import InvalidStatus
from websockets.http11 import Response

from gateway import cli
from gateway.live import widget
from tests.chat_client import ChatClient, is_ack, is_type
from tests.conftest import LiveServer
from tests.gateway.test_protocol_support import (
    chat_row,
    close_code,
    greeted_chat,
    open_chat,
    queued_chat,
    serve,
    sqlite_settings,
    stored_messages,
)

pytestmark = pytest.mark.asyncio


async def test_only_the_configured_origins_may_connect(
    sqlite_template: Path, tmp_path: Path
) -> None:
    allowed = ("https://www.charity.example", "https://help.charity.example")
    settings = sqlite_settings(sqlite_template, tmp_path, allowed_origins=allowed)
    async with serve(settings) as server:
        for origin in allowed:
            client = await ChatClient.open(server.ws, origin)
            await client.hello()
            await client.close()
        for origin in ("https://www.charity.example.evil", "http://www.charity.example"):
            client = await ChatClient.open(server.ws, origin)
            assert await close_code(client) == 1008
        # The gateway's own origin is not allowed once a list is configured.
        assert await close_code(await ChatClient.open(server.ws, server.origin)) == 1008


async def test_oversized_frames_and_texts_are_refused_and_nothing_is_stored(
    sqlite_template: Path, tmp_path: Path
) -> None:
    settings = sqlite_settings(sqlite_template, tmp_path)
    async with serve(settings) as server:
        client = await greeted_chat(server)
        assert client.token is not None
        # Over the gateway's frame limit, under uvicorn's: an error with the client_id.
        await client.say("x" * settings.max_frame_bytes, client_id="too-big")
        error = await client.recv()
        assert (error["code"], error["client_id"]) == ("too_large", "too-big")
        # Over the text limit after trimming; the limit itself is fine.
        limit = settings.max_text_chars
        await client.say(" " + "y" * (limit + 1) + " ", client_id="too-long")
        assert (await client.recv())["code"] == "too_large"
        await client.say("  \n\t ", client_id="blank")
        assert (await client.recv())["code"] == "empty"
        cid = await client.say("  " + "z" * limit + "  ")
        await client.recv_until(is_ack(cid))
        rows = await stored_messages(
            settings.database_url, (await chat_row(settings.database_url, client.token)).id
        )
        assert [len(m.text) for m in rows if m.sender == "user"] == [limit]
        await client.close()


async def test_a_frame_flood_is_rate_limited_then_closed(
    sqlite_template: Path, tmp_path: Path
) -> None:
    settings = sqlite_settings(sqlite_template, tmp_path, rate_limit_frames=10, max_bad_frames=3)
    async with serve(settings) as server:
        client = await greeted_chat(server)
        for _ in range(20):
            await client.send({"type": "typing", "on": True})
        assert await close_code(client) == 4429
        errors = [f["code"] for f in client.seen if f["type"] == "error"]
        assert errors == ["rate_limited"] * 4


async def test_a_silent_person_stays_connected_until_their_session_ends(
    sqlite_template: Path, tmp_path: Path
) -> None:
    settings = sqlite_settings(sqlite_template, tmp_path, heartbeat_s=0.1, idle_timeout_s=0.3)
    async with serve(settings) as server:
        waiting, _ = await queued_chat(server)
        await waiting.recv_until(is_type("queue"))
        reading = await greeted_chat(server)
        other_tab = await open_chat(server, token=reading.token, last_seq=10_000)
        # Longer than the idle timeout without a frame: open sessions are not closed.
        assert await waiting.quiet(0.5) == []
        cid = await waiting.say("still waiting")
        await waiting.recv_until(is_ack(cid))
        # When the session ends, a silent connection to it is closed after the idle time.
        await reading.send({"type": "leave"})
        assert await close_code(reading) == 1000
        assert await close_code(other_tab) == 1000
        assert any(f["type"] == "state" and f["state"] == "closed" for f in other_tab.seen)
        await waiting.close()


async def test_connections_per_address_are_capped_and_the_address_is_not_logged(
    sqlite_template: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = sqlite_settings(sqlite_template, tmp_path, max_connections_per_address=2)
    async with serve(settings) as server:
        first, second = await greeted_chat(server), await greeted_chat(server)
        third = await ChatClient.open(server.ws, server.origin)
        assert await close_code(third) == 1008
        ports = [str(c.ws.local_address[1]) for c in (first, second, third)]
        # Straight back: held off, refused before any websocket opens, told when.
        held_off = await refused_at_the_handshake(server)
        assert held_off.status_code == 429
        retry_after = int(held_off.headers["Retry-After"])
        assert 1 <= retry_after <= 2
        await first.close()
        await asyncio.sleep(retry_after)
        for _ in range(100):  # the server lets go of the address when it sees the close
            client = await ChatClient.open(server.ws, server.origin)
            await client.send({"type": "hello", "v": 1, "token": None, "last_seq": 0})
            if (await client.recv())["type"] == "welcome":
                break
            await asyncio.sleep(1.1)  # over the cap again: wait out the hold-off
        else:
            pytest.fail("the connection cap was not released")
        for other in (client, second):
            await other.close()
    logged = caplog.text
    assert not [port for port in ports if port in logged]


async def refused_at_the_handshake(server: LiveServer) -> Response:
    """The HTTP answer to a connection from an address held off at its cap. On a slow
    machine the hold-off (a second) may end before the next attempt: that attempt is
    over the cap again (1008) and holds the address off anew."""
    for _ in range(5):
        try:
            client = await ChatClient.open(server.ws, server.origin)
        except InvalidStatus as exc:
            return exc.response
        assert await close_code(client) == 1008
    pytest.fail("never refused at the handshake")


async def test_haven_serve_runs_uvicorn_with_the_protocol_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``haven serve`` hands uvicorn the protocol's limits and the gateway's timeouts."""
    configs: list[uvicorn.Config] = []

    class Recorded:
        started = True

        def __init__(self, config: uvicorn.Config) -> None:
            configs.append(config)

        def run(self) -> None:
            """Serve nothing: the test reads the configuration."""

    monkeypatch.setattr(cli, "create_app", lambda settings: "the app")
    monkeypatch.setattr(cli.uvicorn, "Server", Recorded)
    settings = cli.load_settings({})
    cli.serve(settings)
    (config,) = configs
    assert config.ws_max_size == settings.max_frame_bytes * 4
    assert config.ws_per_message_deflate is False
    assert config.ws_ping_interval == config.ws_ping_timeout == settings.heartbeat_s
    assert config.timeout_keep_alive == settings.keep_alive_timeout_s
    assert config.access_log is False


async def test_a_failure_closes_only_that_connection_and_logs_no_text(
    sqlite_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*args: Any, text: str, **kwargs: Any) -> None:
        raise RuntimeError(f"INSERT failed with parameters ({text!r})")

    caplog.set_level(logging.ERROR, logger="gateway")
    async with serve(sqlite_settings(sqlite_template, tmp_path)) as server:
        client = await greeted_chat(server)
        with monkeypatch.context() as patched:
            patched.setattr(widget, "person_says", broken)
            await client.say("something private")
            assert await close_code(client) == 1011  # the client resumes
        again = await open_chat(server, token=client.token, last_seq=10_000)
        cid = await again.say("something private")
        await again.recv_until(is_ack(cid))
        await again.close()
    assert [r.getMessage() for r in caplog.records if "RuntimeError" in r.getMessage()]
    assert "something private" not in caplog.text
