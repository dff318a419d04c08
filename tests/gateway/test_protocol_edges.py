"""Edge cases of delivery over a real server, on SQLite and PostgreSQL.

Events that arrive out of order or never arrive (a Redis reconnect), and what one
tab does to the session's other tabs (leave, erase).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from gateway.actions.messages import post_counsellor_message
from gateway.actions.queue import claim_session
from gateway.actions.records import message_event
from gateway.broker import MemoryBroker
from gateway.db import Database
from gateway.events import session_channel
from gateway.services import Services
from gateway.settings import Settings
from tests.chat_client import Frame, is_type
from tests.conftest import LiveServer
from tests.factories import make_staff
from tests.gateway.test_protocol_support import (
    chat_row,
    close_code,
    greeted_chat,
    open_chat,
    queued_chat,
    serve,
    services_of,
    stored_messages,
)

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    # A fast heartbeat: lost events are recovered within two of them.
    async with serve(settings, heartbeat_s=0.1) as running:
        yield running


@pytest_asyncio.fixture
async def elsewhere(server: LiveServer) -> AsyncIterator[Services]:
    """Another process's view of the same database, whose events reach nobody here."""
    svc = services_of(server)
    db = Database(svc.settings.database_url)
    other = Services(settings=svc.settings, db=db, broker=MemoryBroker(), bot=svc.bot)
    yield other
    await other.db.dispose()


async def test_lost_events_are_recovered_by_the_heartbeat(
    server: LiveServer, elsewhere: Services
) -> None:
    staff = await make_staff(services_of(server), name="Sam")
    client, session_id = await queued_chat(server)
    await client.recv_until(is_type("queue"))
    assert (await claim_session(elsewhere, session_id=session_id, staff_id=staff.id)).won
    await post_counsellor_message(
        elsewhere, session_id=session_id, staff=staff, client_id="c1", text="Hi, I'm Sam."
    )
    frames: list[Frame] = []
    while not (
        {"state", "counsellor"} <= {f["type"] for f in frames} | {f.get("from") for f in frames}
    ):
        frames.append(await client.recv(timeout=5))
    messages = [(f["seq"], f["from"]) for f in frames if f["type"] == "message"]
    assert messages == [(1, "system"), (2, "counsellor")]
    state = next(f for f in frames if f["type"] == "state")
    assert state == {"type": "state", "state": "live", "counsellor": "Sam"}
    await client.close()


async def test_an_event_ahead_of_a_gap_is_sent_after_the_gap_is_read(
    settings: Settings, elsewhere: Services
) -> None:
    # The default heartbeat: only the gap logic can fill the gap in time.
    async with serve(settings) as server:
        svc = services_of(server)
        staff = await make_staff(svc, name="Sam")
        client, session_id = await queued_chat(server)
        await client.recv_until(is_type("queue"))
        assert (await claim_session(svc, session_id=session_id, staff_id=staff.id)).won
        await client.recv_until(lambda f: f["type"] == "state")
        for n in (1, 2, 3):
            await post_counsellor_message(
                elsewhere, session_id=session_id, staff=staff, client_id=f"c{n}", text=f"line {n}"
            )
        # Only the last event arrives, and first.
        last = (await stored_messages(settings.database_url, session_id))[-1]
        await svc.broker.publish(session_channel(session_id), message_event(last, "Sam"))
        frames = await client.recv_until(lambda f: f.get("text") == "line 3", timeout=2)
        assert [f["text"] for f in frames if f["type"] == "message"] == [
            "line 1",
            "line 2",
            "line 3",
        ]
        await client.close()


async def test_leave_and_erase_on_one_tab_reach_the_other_tabs(
    server: LiveServer, settings: Settings
) -> None:
    first = await greeted_chat(server)
    second = await open_chat(server, token=first.token, last_seq=10_000)
    await first.send({"type": "leave"})
    assert await close_code(first) == 1000
    await second.recv_until(lambda f: f["type"] == "state" and f["state"] == "closed")
    await second.say("hello?", client_id="after-leave")
    error = (await second.recv_until(is_type("error")))[-1]
    assert (error["code"], error["client_id"]) == ("closed", "after-leave")
    await second.send({"type": "ask_counsellor"})
    assert (await second.recv())["code"] == "closed"
    # A third tab erases: the others are told and closed; nothing is left.
    assert first.token is not None
    session_id = (await chat_row(settings.database_url, first.token)).id
    third = await open_chat(server, token=first.token, last_seq=10_000)
    await third.send({"type": "erase"})
    for tab in (second, third):
        await tab.recv_until(is_type("erased"))
        assert await close_code(tab) == 1000
    assert await stored_messages(settings.database_url, session_id) == []


async def test_healthz_says_when_the_trigger_phrases_are_compiled(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.origin) as client:
        first = (await client.get("/healthz")).json()
        assert first["status"] == "ok" and isinstance(first["warm"], bool)
        for _ in range(600):  # a few seconds on a cold process; at once on a warm one
            if (await client.get("/healthz")).json()["warm"]:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the trigger phrases never finished compiling")
