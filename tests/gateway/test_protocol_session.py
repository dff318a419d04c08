"""PROTOCOL.md semantics 1-5 over a real server, on SQLite and PostgreSQL.

1 anonymous token, 2 stored before acknowledged, 3 idempotent sends,
4 ordered gap-free seq, 5 resume.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import inspect

from gateway.actions.messages import post_counsellor_message, post_user_message
from gateway.actions.queue import claim_session
from gateway.security import hash_token
from gateway.settings import Settings
from tests.chat_client import ChatClient, is_ack, is_type
from tests.conftest import LiveServer
from tests.factories import make_staff
from tests.gateway.test_protocol_support import (
    assert_gap_free,
    chat_row,
    close_code,
    greeted_chat,
    is_bot_message,
    open_chat,
    serve,
    services_of,
    stored_messages,
    token_bits,
)

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    async with serve(settings) as running:
        yield running


async def test_1_the_token_has_128_bits_or_more_and_only_its_hash_is_stored(
    server: LiveServer, settings: Settings
) -> None:
    first, second = await greeted_chat(server), await greeted_chat(server)
    assert first.token and second.token and first.token != second.token
    assert token_bits(first.token) >= 128
    row = await chat_row(settings.database_url, first.token)
    assert row.token_hash == hash_token(first.token)
    stored = [getattr(row, c.key) for c in inspect(row).mapper.column_attrs]
    assert not [value for value in stored if isinstance(value, str) and first.token in value]
    # Returned once: a resumed session's welcome has no token.
    again = await open_chat(server, token=first.token)
    assert again.welcome is not None and "token" not in again.welcome
    for client in (first, second, again):
        await client.close()


async def test_2_a_say_is_in_the_database_when_its_ack_arrives(
    server: LiveServer, settings: Settings
) -> None:
    client = await greeted_chat(server)
    assert client.token is not None
    session_id = (await chat_row(settings.database_url, client.token)).id
    for text in ("first", "second", "third"):
        cid = await client.say(text)
        ack = (await client.recv_until(is_ack(cid)))[-1]
        # Read on a connection of our own, the moment the ack is in.
        rows = await stored_messages(settings.database_url, session_id)
        mine = [m for m in rows if m.client_id == cid]
        assert [(m.seq, m.text, m.sender) for m in mine] == [(ack["seq"], text, "user")]
    client.ws.transport.abort()  # the link drops: nothing acknowledged is lost
    rows = await stored_messages(settings.database_url, session_id)
    assert [m.text for m in rows if m.sender == "user"] == ["first", "second", "third"]


async def test_3_a_resent_client_id_is_stored_once_and_acked_with_its_seq(
    server: LiveServer, settings: Settings
) -> None:
    client = await greeted_chat(server)
    assert client.token is not None
    cid = await client.say("I can't sleep")
    seq = (await client.recv_until(is_ack(cid)))[-1]["seq"]
    await client.recv_until(lambda f: f == {"type": "typing", "from": "bot", "on": False})
    await client.say("I can't sleep", client_id=cid)
    again = await client.recv_until(is_ack(cid))
    assert again[-1]["seq"] == seq
    # Resent after a reconnect, with other words: still the first one, still once.
    await client.close()
    other = await open_chat(server, token=client.token, last_seq=seq)
    assert all(is_bot_message(f) for f in await other.quiet(0.3))  # the replies to it
    await other.say("changed my mind", client_id=cid)
    got = await other.recv_until(is_ack(cid))
    got += await other.quiet(0.3)
    assert got == [{"type": "ack", "client_id": cid, "seq": seq}]  # and the bot is not asked again
    session_id = (await chat_row(settings.database_url, client.token)).id
    rows = await stored_messages(settings.database_url, session_id)
    assert [(m.seq, m.text) for m in rows if m.client_id == cid] == [(seq, "I can't sleep")]
    await other.close()


async def test_4_seq_is_gap_free_across_user_bot_counsellor_and_system(
    server: LiveServer, settings: Settings
) -> None:
    svc = services_of(server)
    staff = await make_staff(svc, name="Sam")
    client = await greeted_chat(server)
    assert client.token is not None
    session_id = (await chat_row(settings.database_url, client.token)).id
    for text, value in (("hello", None), ("Yes, continue", "yes")):
        await client.say(text, value=value)
        await client.recv_until(lambda f: f == {"type": "typing", "from": "bot", "on": False})
    await client.send({"type": "ask_counsellor"})
    await client.recv_until(is_type("queue"))
    await client.say("still here")
    assert (await claim_session(svc, session_id=session_id, staff_id=staff.id)).won
    await post_counsellor_message(
        svc, session_id=session_id, staff=staff, client_id="c1", text="Hi, I'm Sam."
    )
    cid = await client.say("hi Sam")
    await client.recv_until(is_ack(cid))
    # The person is given the helplines before the connection closes; it is the
    # transcript's last line (the counsellor's page shows they left from the state).
    await client.send({"type": "leave"})
    assert await close_code(client) == 1000
    notice = [f for f in client.seen if f["type"] == "message"][-1]
    assert notice["from"] == "system" and "116 123" in notice["text"]
    assert {"label": "Call Samaritans", "href": "tel:116123"} in notice["links"]

    rows = await stored_messages(settings.database_url, session_id)
    row = await chat_row(settings.database_url, client.token)
    assert_gap_free(rows, row.last_seq)
    assert {m.sender for m in rows} == {"user", "bot", "counsellor", "system"}
    assert rows[-1].sender == "system" and rows[-1].seq == notice["seq"]
    # The client saw every seq exactly once: as a message, or as the ack of its say.
    seen = [f["seq"] for f in client.seen if f["type"] in ("message", "ack")]
    assert sorted(seen) == list(range(1, row.last_seq + 1))
    messages = [f["seq"] for f in client.seen if f["type"] == "message"]
    assert messages == sorted(messages)


async def test_5_resume_sends_what_was_missed_once_in_order_then_live_traffic(
    server: LiveServer, settings: Settings
) -> None:
    client = await greeted_chat(server)
    assert client.token is not None
    for text in ("hello", "I feel anxious", "tired"):
        cid = await client.say(text)
        await client.recv_until(is_ack(cid))
        await client.recv_until(lambda f: f == {"type": "typing", "from": "bot", "on": False})
    seen = sorted(f["seq"] for f in client.seen if f["type"] in ("message", "ack"))
    await client.close()

    # The person saw up to seq 3 before the link dropped.
    resumed = await ChatClient.open(server.ws, server.origin)
    welcome = await resumed.hello(token=client.token, last_seq=3)
    assert welcome["state"] == "bot" and welcome["last_seq"] == seen[-1]
    replay = await resumed.recv_until(lambda f: f.get("seq") == seen[-1])
    assert [f["seq"] for f in replay] == list(range(4, seen[-1] + 1))
    assert all(f["type"] == "message" for f in replay)
    assert await resumed.quiet(0.3) == []
    cid = await resumed.say("and now?")
    live = await resumed.recv_until(is_bot_message)
    assert live[0] == {"type": "ack", "client_id": cid, "seq": seen[-1] + 1}
    assert live[-1]["seq"] == seen[-1] + 2
    live += await resumed.recv_until(lambda f: f == {"type": "typing", "from": "bot", "on": False})

    # Up to date: nothing is sent again.
    current = await ChatClient.open(server.ws, server.origin)
    await current.hello(token=client.token, last_seq=max(f.get("seq", 0) for f in live))
    assert await current.quiet(0.3) == []
    for other in (resumed, current):
        await other.close()

    # An unknown token: error unknown_token, then close 4404.
    stranger = await ChatClient.open(server.ws, server.origin)
    await stranger.send({"type": "hello", "v": 1, "token": "x" * 43, "last_seq": 0})
    assert (await stranger.recv())["code"] == "unknown_token"
    assert await close_code(stranger) == 4404
    rows = await stored_messages(settings.database_url)
    assert len({(m.session_id, m.seq) for m in rows}) == len(rows)


async def test_5_a_last_message_the_bot_never_answered_is_answered_on_resume(
    server: LiveServer, settings: Settings
) -> None:
    # An older release stored the person's message and ran the bot in two units of
    # work; a crash between them left the message unanswered. Resuming answers it.
    client = await greeted_chat(server)
    assert client.token is not None
    await client.close()
    session_id = (await chat_row(settings.database_url, client.token)).id
    await post_user_message(
        services_of(server), session_id=session_id, client_id="u1", text="Yes, continue"
    )
    stored_before = await stored_messages(settings.database_url, session_id)
    assert stored_before[-1].sender == "user"

    again = await open_chat(server, token=client.token, last_seq=stored_before[-1].seq)
    answer = await again.recv_until(is_bot_message)
    assert answer[-1]["seq"] == stored_before[-1].seq + 1
    await again.close()
    row = await chat_row(settings.database_url, client.token)
    assert_gap_free(await stored_messages(settings.database_url, session_id), row.last_seq)
