"""Two gateway processes sharing a database and Redis: a session's connections on
either one receive everything, and a dropped Redis subscription recovers.

Needs Redis on 127.0.0.1:6379 (skipped without it, except in CI).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from gateway.actions.messages import post_counsellor_message
from gateway.actions.queue import claim_session
from gateway.settings import Settings
from tests.chat_client import Frame, is_ack, is_type
from tests.conftest import LiveServer
from tests.factories import make_staff
from tests.gateway.test_protocol_support import (
    greeted_chat,
    open_chat,
    queued_chat,
    serve,
    services_of,
)
from tests.services import REDIS_URL, missing, port_open

pytestmark = [pytest.mark.asyncio, pytest.mark.redis]
TYPING_OFF = {"type": "typing", "from": "bot", "on": False}


@pytest_asyncio.fixture
async def pair(
    settings: Settings,
) -> AsyncIterator[tuple[LiveServer, LiveServer]]:
    address = urlsplit(REDIS_URL)
    if not port_open(address.hostname or "127.0.0.1", address.port or 6379):
        missing(f"Redis at {REDIS_URL}")
    # Channels of this test alone: other test runs may share the Redis server.
    # A slow heartbeat: what arrives, arrives through Redis, not the heartbeat's re-read.
    options: dict[str, Any] = {
        "broker_url": REDIS_URL,
        "broker_channel_prefix": f"haven-test-{uuid.uuid4().hex}:",
        "heartbeat_s": 60.0,
    }
    async with serve(settings, **options) as first, serve(settings, **options) as second:
        yield first, second


async def test_a_session_spoken_to_on_one_process_is_heard_on_the_other(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    first, second = pair
    here = await greeted_chat(first)
    there = await open_chat(second, token=here.token, last_seq=10_000)
    await there.recv_until(lambda f: f.get("seq") == 2)  # the greeting, read from the database

    cid = await here.say("hello from process one")
    await here.recv_until(is_ack(cid))
    frames = await there.recv_until(lambda f: f == TYPING_OFF)
    echo = next(f for f in frames if f["type"] == "message")
    assert (echo["client_id"], echo["text"]) == (cid, "hello from process one")
    # The bot ran on process one; its typing and replies reach process two.
    assert {"type": "typing", "from": "bot", "on": True} in frames
    assert [f for f in frames if f["type"] == "message" and f["from"] == "bot"]

    cid = await there.say("and from process two")
    await there.recv_until(is_ack(cid))
    echo = (await here.recv_until(lambda f: f.get("client_id") == cid))[-1]
    assert echo["type"] == "message" and echo["text"] == "and from process two"
    for client in (here, there):
        await client.close()


async def test_a_claim_on_one_process_reaches_a_person_waiting_on_the_other(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    first, second = pair
    svc = services_of(second)
    staff = await make_staff(svc, name="Sam")
    waiting, session_id = await queued_chat(first)
    await waiting.recv_until(is_type("queue"))
    assert (await claim_session(svc, session_id=session_id, staff_id=staff.id)).won
    state = (await waiting.recv_until(is_type("state")))[-1]
    assert state == {"type": "state", "state": "live", "counsellor": "Sam"}
    await waiting.close()


async def _kill_subscription(broker: Any) -> None:
    """Drop the broker's pub/sub connection from the Redis side, as a Redis restart would."""
    host, port = broker._pubsub.connection._writer.get_extra_info("sockname")[:2]
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        assert await admin.client_kill_filter(_type=None, addr=f"{host}:{port}") == 1
    finally:
        await admin.aclose()


async def test_the_redis_subscription_reconnects_and_nothing_is_lost(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    first, second = pair
    svc = services_of(second)
    staff = await make_staff(svc, name="Sam")
    waiting, session_id = await queued_chat(first)
    await waiting.recv_until(is_type("queue"))
    assert (await claim_session(svc, session_id=session_id, staff_id=staff.id)).won
    await waiting.recv_until(is_type("state"))

    await _kill_subscription(services_of(first).broker)
    got: list[Frame] = []
    for n in range(1, 40):  # the reader reconnects after a second
        await post_counsellor_message(
            svc, session_id=session_id, staff=staff, client_id=f"c{n}", text=f"line {n}"
        )
        got += await waiting.quiet(0.25)
        if got:
            break
    # Lines posted while the subscription was down arrive with the first one after it.
    texts = [f["text"] for f in got if f["type"] == "message"]
    assert texts == [f"line {i}" for i in range(1, n + 1)]
    await waiting.close()
