"""Per-address and per-session limits that survive reconnects (issue 12, item 2), over
a real server: new sessions, messages, "talk to a person" and resumes, counted in
memory for one process and in Redis across two; keys are keyed hashes that expire."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from websockets.exceptions import InvalidStatus

from gateway.abuse import AbuseLimits, Limit
from gateway.settings import Settings, SettingsError, load_settings
from tests.chat_client import is_ack, is_type
from tests.conftest import LiveServer
from tests.gateway.abuse_support import (
    ATTACKER,
    PERSON,
    add_lines,
    connect_from,
    greeted_from,
    hello_from,
    serve_limited,
    with_limits,
)
from tests.gateway.test_protocol_support import (
    all_sessions,
    close_code,
    serve,
    services_of,
    sqlite_settings,
    stored_messages,
)
from tests.services import REDIS_URL, port_open

pytestmark = pytest.mark.asyncio


async def test_new_sessions_per_address_are_limited_and_other_addresses_are_not(
    sqlite_template: Path, tmp_path: Path
) -> None:
    async with serve_limited(
        sqlite_template, tmp_path, limit_sessions_per_address="3/minute;10/hour"
    ) as server:
        for _ in range(3):
            client, first = await hello_from(server, ATTACKER)
            assert first["type"] == "welcome"
            await client.close()  # a reconnect resets nothing
        client, refused = await hello_from(server, ATTACKER)
        assert refused["type"] == "error" and refused["code"] == "rate_limited"
        assert 1 <= refused["retry_after_s"] <= 60
        assert "try again in" in refused["message"]
        assert "If you need someone now: Samaritans: call 116 123" in refused["message"]
        assert await close_code(client) == 1013
        # A person on another address starts a chat as usual: their first is never refused.
        person, first = await hello_from(server, PERSON)
        assert first["type"] == "welcome" and first["token"]
        await person.close()
    assert len(await all_sessions(server.settings.database_url)) == 4


async def test_a_limit_of_zero_is_refused_at_start() -> None:
    for name in ("HAVEN_LIMIT_SESSIONS_PER_ADDRESS", "HAVEN_LIMIT_MESSAGES_PER_SESSION"):
        with pytest.raises(SettingsError, match="at least 1"):
            load_settings({name: "0/minute"})
        with pytest.raises(SettingsError, match="is not a limit"):
            load_settings({name: "lots"})
    with pytest.raises(SettingsError, match="CHALLENGE"):
        load_settings({"HAVEN_CHALLENGE": "sometimes"})


async def test_messages_per_session_survive_reconnects_and_nothing_acknowledged_is_lost(
    sqlite_template: Path, tmp_path: Path
) -> None:
    async with serve_limited(
        sqlite_template, tmp_path, limit_messages_per_session="4/minute"
    ) as server:
        client = await greeted_from(server, ATTACKER)
        token = client.token
        acked: list[str] = []
        for n in range(4):
            # Each on a new connection: a per-connection limit would reset every time.
            if n:
                client = await connect_from(server, ATTACKER)
                await client.hello(token=token, last_seq=10_000)
            cid = await client.say(f"message {n}")
            await client.recv_until(is_ack(cid))
            acked.append(cid)
            await client.close()
        client = await connect_from(server, ATTACKER)
        await client.hello(token=token, last_seq=10_000)
        cid = await client.say("one too many")
        refused = (await client.recv_until(is_type("error")))[-1]
        assert (refused["code"], refused["client_id"]) == ("rate_limited", cid)
        assert refused["retry_after_s"] >= 1
        await client.close()
    stored = [m for m in await stored_messages(server.settings.database_url) if m.client_id]
    assert [m.client_id for m in stored] == acked  # every ack stored, the refused one not


async def test_messages_per_address_count_across_sessions(
    sqlite_template: Path, tmp_path: Path
) -> None:
    async with serve_limited(
        sqlite_template, tmp_path, limit_messages_per_address="5/minute"
    ) as server:
        clients = []
        for _ in range(2):
            clients.append(await greeted_from(server, ATTACKER))
        answers = []
        for n in range(6):
            client = clients[n % 2]
            cid = await client.say(f"hello {n}")
            answers.append(
                (await client.recv_until(lambda f, c=cid: f.get("client_id") == c))[-1]["type"]
            )
        assert answers == ["ack"] * 5 + ["error"]
        person, _ = await hello_from(server, PERSON)
        cid = await person.say("hello")
        await person.recv_until(is_ack(cid))
        for client in (*clients, person):
            await client.close()


async def test_requests_for_a_person_per_address_are_limited(
    sqlite_template: Path, tmp_path: Path
) -> None:
    async with serve_limited(
        sqlite_template, tmp_path, limit_escalations_per_address="1/minute"
    ) as server:
        first, _ = await hello_from(server, ATTACKER)
        await first.ask_for_a_person()
        second, _ = await hello_from(server, ATTACKER)
        await second.send({"type": "ask_counsellor"})
        refused = (await second.recv_until(is_type("error")))[-1]
        assert refused["code"] == "rate_limited" and refused["retry_after_s"] >= 1
        assert "request" in refused["message"]
        person, _ = await hello_from(server, PERSON)
        await person.ask_for_a_person()
        for client in (first, second, person):
            await client.close()


async def test_resumes_per_session_are_limited(sqlite_template: Path, tmp_path: Path) -> None:
    async with serve_limited(
        sqlite_template, tmp_path, limit_resumes_per_session="3/minute"
    ) as server:
        client, _ = await hello_from(server, ATTACKER)
        token = client.token
        await client.close()
        for _ in range(3):
            again = await connect_from(server, ATTACKER)
            await again.hello(token=token, last_seq=10_000)
            await again.close()
        again = await connect_from(server, ATTACKER)
        await again.send({"type": "hello", "v": 1, "token": token, "last_seq": 0})
        refused = await again.recv()
        assert refused["type"] == "error" and refused["code"] == "rate_limited"
        assert "Nothing you sent has been lost" in refused["message"]
        assert await close_code(again) == 1013


async def long_session(server: LiveServer, lines: int) -> tuple[str, int]:
    """A session from the attacker's address with ``lines`` more lines: its token and
    last seq (no connection left open)."""
    client = await greeted_from(server, ATTACKER)
    assert client.token is not None
    await client.close()
    sessions = await all_sessions(server.settings.database_url)
    texts = [f"line {n}" for n in range(lines)]
    return client.token, await add_lines(services_of(server), sessions[0].id, texts)


async def test_an_address_connecting_in_a_loop_is_held_off_at_the_handshake(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """Opened and closed at once, never near the cap: paced all the same (HTTP 429 with
    Retry-After before any websocket), and another address is not touched."""
    async with serve_limited(sqlite_template, tmp_path) as server:
        opened = 0
        for _ in range(200):
            try:
                client = await connect_from(server, ATTACKER)
            except InvalidStatus as exc:
                refused = exc.response
                break
            opened += 1
            await client.close()
        else:
            pytest.fail("200 connections in a loop were never refused")
        # The burst (twice the cap of 20), and the little that came back meanwhile.
        assert 40 <= opened < 60
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        person, first = await hello_from(server, PERSON)
        assert first["type"] == "welcome"
        await person.close()


@pytest.mark.redis
async def test_counts_from_two_processes_at_once_never_pass_more_than_the_limit() -> None:
    """Each count is one atomic step of the storage: forty hits at once from two
    processes' limiters on one Redis let exactly the limit's ten through (a test
    then a hit, two round trips, let every one of the forty through)."""
    host, port = REDIS_URL.split("//")[1].split("/")[0].split(":")
    if not port_open(host, int(port)):
        pytest.skip("Redis on 127.0.0.1:6379 is not available")
    settings = Settings(
        env="development",
        broker_url=REDIS_URL,
        broker_channel_prefix=f"haven-test-{uuid.uuid4().hex[:8]}:",
        limit_sessions_per_address="10/minute",
    )
    one, two = AbuseLimits(settings), AbuseLimits(settings)
    key = one.address(ATTACKER)
    try:
        answers = await asyncio.gather(
            *(
                limits.hit(Limit.SESSIONS_PER_ADDRESS, key)
                for _ in range(20)
                for limits in (one, two)
            )
        )
        assert sum(answer is None for answer in answers) == 10
        refused = [answer for answer in answers if answer is not None]
        assert all(r.limit is Limit.SESSIONS_PER_ADDRESS for r in refused)
    finally:
        await one.close()
        await two.close()


async def test_resumes_arriving_at_once_cannot_all_pass_the_limit(
    sqlite_template: Path, tmp_path: Path
) -> None:
    async with serve_limited(
        sqlite_template, tmp_path, limit_catchup_lines_per_session="1000/minute"
    ) as server:
        token, _ = await long_session(server, 400)
        # Eight resumes from the start at once: each counts before the next is tested.
        answers = await asyncio.gather(
            *(hello_from(server, ATTACKER, token=token, last_seq=0) for _ in range(8))
        )
        kinds = sorted(first["type"] for _, first in answers)
        assert kinds == ["error"] * 6 + ["welcome"] * 2
        for again, _ in answers:
            await again.close()


async def test_a_long_transcript_is_read_back_whole_once_then_the_budget_says_wait(
    sqlite_template: Path, tmp_path: Path
) -> None:
    async with serve_limited(
        sqlite_template, tmp_path, limit_catchup_lines_per_session="1000/minute"
    ) as server:
        token, last = await long_session(server, 700)
        # From the start: every line once, in order (sent in batches, nothing skipped).
        reader = await connect_from(server, ATTACKER)
        await reader.hello(token=token, last_seq=0)
        got = await reader.recv_until(lambda f: f.get("seq") == last, timeout=30)
        assert [f["seq"] for f in got if f["type"] == "message"] == list(range(1, last + 1))
        await reader.close()
        # Again at once: over the lines budget, told when to come back.
        again = await connect_from(server, ATTACKER)
        await again.send({"type": "hello", "v": 1, "token": token, "last_seq": 0})
        refused = await again.recv()
        assert refused["code"] == "rate_limited" and refused["retry_after_s"] >= 1
        assert await close_code(again) == 1013
        # A resume that needs no lines back still works.
        current = await connect_from(server, ATTACKER)
        welcome = await current.hello(token=token, last_seq=last)
        assert welcome["last_seq"] == last
        await current.close()


@pytest.mark.redis
async def test_two_processes_share_the_counts_in_redis_under_hashed_expiring_keys(
    sqlite_template: Path, tmp_path: Path
) -> None:
    host, port = REDIS_URL.split("//")[1].split("/")[0].split(":")
    if not port_open(host, int(port)):
        pytest.skip("Redis on 127.0.0.1:6379 is not available")
    prefix = f"haven-test-{uuid.uuid4().hex[:8]}:"
    limits = with_limits(limit_sessions_per_address="2/minute")
    settings = sqlite_settings(
        sqlite_template, tmp_path, broker_url=REDIS_URL, broker_channel_prefix=prefix, **limits
    )
    async with serve(settings) as one, serve(settings) as two:
        a, first = await hello_from(one, ATTACKER)
        b, second = await hello_from(two, ATTACKER)
        c, third = await hello_from(one, ATTACKER)
        assert [first["type"], second["type"], third["type"]] == ["welcome", "welcome", "error"]
        d, fourth = await hello_from(two, ATTACKER)
        assert fourth["code"] == "rate_limited"
        for client in (a, b, c, d):
            await client.close()
    admin = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        keys = [key async for key in admin.scan_iter(match=f"{prefix}*")]
        assert keys, "the counts are in Redis"
        assert not [key for key in keys if ATTACKER in key or PERSON in key]
        ttls = await asyncio.gather(*(admin.ttl(key) for key in keys))
        assert all(ttl > 0 for ttl in ttls), dict(zip(keys, ttls, strict=True))
        if keys:
            await admin.delete(*keys)
    finally:
        await admin.aclose()
