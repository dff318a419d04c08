"""Connections cut mid-delivery, resends after a cut, stale tokens (issue 12, item 9).

A cut here is the TCP connection torn down without a closing handshake (as when a
phone loses its signal), while the counsellor's lines are still streaming to the
person or before the person's own line was acknowledged. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from gateway.models import Message
from tests.chat_client import ChatClient, is_ack, is_type
from tests.conftest import LiveServer
from tests.counsellor_ui.support import frames_until
from tests.faults.support import end_chat, live_with_sam, services

pytestmark = pytest.mark.asyncio

LINES = 15  # under the per-connection message limit (20 in 10 s)


def cut(client: ChatClient) -> None:
    """Drop the TCP connection at once: no close frame, unread frames lost."""
    transport = client.ws.transport
    transport.abort()


async def stored(server: LiveServer, session_id: int) -> list[Message]:
    async with services(server).read() as session:
        rows = await session.execute(
            select(Message).where(Message.session_id == session_id).order_by(Message.seq)
        )
        return list(rows.scalars())


async def test_a_cut_mid_delivery_then_resume_gives_every_line_once_in_order(
    live_server: LiveServer,
) -> None:
    sam, person, session_id, seen = await live_with_sam(live_server)
    chat = await sam.socket(session_id)
    await frames_until(chat, lambda f: f["type"] == "queue")
    sent = [f"line {n} of {LINES}" for n in range(1, LINES + 1)]
    for n, text in enumerate(sent):
        await chat.send(f'{{"type": "say", "client_id": "c{n}", "text": "{text}"}}')
    # The person reads a few of the lines, then loses the connection mid-stream.
    got = await person.recv_until(lambda f: f.get("text") == sent[4])
    before = [f for f in got if f["type"] == "message"]
    seen = max([seen, *(f["seq"] for f in before)])
    cut(person)
    acked = await frames_until(
        chat, lambda f: f["type"] == "ack" and f["client_id"] == f"c{LINES - 1}"
    )
    last = acked[-1]["seq"]

    resumed = await ChatClient.open(live_server.ws, live_server.origin)
    welcome = await resumed.hello(token=person.token, last_seq=seen)
    assert welcome["state"] == "live" and welcome["last_seq"] == last
    after = await resumed.recv_until(lambda f: f.get("seq") == last)
    after += await resumed.quiet(0.3)
    replayed = [f for f in after if f["type"] == "message"]
    assert [f["seq"] for f in replayed] == list(range(seen + 1, last + 1))
    heard = [f["text"] for f in before + replayed if f["from"] == "counsellor"]
    assert heard == sent  # every line, once, in the order Sam wrote them
    rows = await stored(live_server, session_id)
    assert [m.seq for m in rows] == list(range(1, last + 1))
    assert [m.text for m in rows if m.sender == "counsellor"] == sent
    await resumed.close()
    await chat.close()


async def test_a_say_resent_after_a_cut_before_its_ack_is_stored_once(
    live_server: LiveServer,
) -> None:
    _sam, person, session_id, seen = await live_with_sam(live_server)
    client_ids = [uuid.uuid4().hex for _ in range(5)]
    for cid in client_ids:
        await person.say("are you still there?", client_id=cid)
    cut(person)  # before any ack could be read
    # The widget resends everything unacknowledged on the new connection.
    resumed = await ChatClient.open(live_server.ws, live_server.origin)
    await resumed.hello(token=person.token, last_seq=seen)
    for cid in client_ids:
        await resumed.say("are you still there?", client_id=cid)
    acks = {}
    for cid in client_ids:
        acks[cid] = (await resumed.recv_until(is_ack(cid)))[-1]["seq"]
    rows = await stored(live_server, session_id)
    mine = [(m.client_id, m.seq) for m in rows if m.client_id in acks]
    assert sorted(mine, key=lambda r: r[1]) == sorted(acks.items(), key=lambda r: r[1])
    assert len(mine) == len(client_ids)  # each stored once, with the seq its ack gave
    assert [m.seq for m in rows] == list(range(1, len(rows) + 1))
    await resumed.close()


async def test_a_stale_or_erased_token_resumes_nothing_and_stores_nothing(
    live_server: LiveServer,
) -> None:
    # An ended chat's token: the transcript's state, and nothing more is stored.
    sam, person, session_id, _ = await live_with_sam(live_server)
    await end_chat(sam, session_id)
    await person.close()
    count = len(await stored(live_server, session_id))
    late = await ChatClient.open(live_server.ws, live_server.origin)
    welcome = await late.hello(token=person.token, last_seq=10_000)
    assert welcome["state"] == "closed" and "token" not in welcome
    cid = await late.say("hello again?")
    refused = await late.recv_until(lambda f: f["type"] in ("error", "ack"))
    assert refused[-1]["type"] == "error" and refused[-1]["code"] == "closed"
    assert len(await stored(live_server, session_id)) == count
    assert cid not in {m.client_id for m in await stored(live_server, session_id)}
    await late.close()

    # An erased chat's token, on a tab opened before the erase: both are refused.
    other = await ChatClient.open(live_server.ws, live_server.origin)
    await other.hello()
    await other.recv_until(is_type("message"), timeout=30)
    twin = await ChatClient.open(live_server.ws, live_server.origin)
    await twin.hello(token=other.token)
    await other.send({"type": "erase"})
    await other.recv_until(is_type("erased"))
    await twin.recv_until(is_type("erased"))
    for _ in range(2):
        stranger = await ChatClient.open(live_server.ws, live_server.origin)
        await stranger.send({"type": "hello", "v": 1, "token": other.token, "last_seq": 0})
        assert (await stranger.recv())["code"] == "unknown_token"
        await asyncio.wait_for(stranger.ws.wait_closed(), 5)
        assert stranger.ws.close_code == 4404
