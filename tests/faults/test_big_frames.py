"""1 MB and 10 MB frames on both sockets (issue 12, item 9).

A frame far over uvicorn's limit (``HAVEN_MAX_FRAME_BYTES`` times four) is refused
with 1009 on the widget socket and on the counsellor socket: nothing of it is stored,
the chat goes on for both sides on new connections, and the server keeps serving.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from gateway.models import ChatSession, Message
from tests.chat_client import ChatClient, is_ack
from tests.conftest import LiveServer
from tests.counsellor_ui.support import frames_until
from tests.faults.support import live_with_sam, services

pytestmark = pytest.mark.asyncio

SIZES = (1024 * 1024, 10 * 1024 * 1024)


async def refused(ws: ClientConnection, frame: str) -> int:
    """Send ``frame``; the code the server closed with (it may close mid-send)."""
    with contextlib.suppress(ConnectionClosed):
        await ws.send(frame)
    try:
        while True:
            await ws.recv()
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd is not None else 1006


async def test_1_mb_and_10_mb_frames_are_refused_on_both_sockets_and_nothing_is_stored(
    live_server: LiveServer,
) -> None:
    svc = services(live_server)
    sam, person, session_id, seen = await live_with_sam(live_server)
    token = person.token
    before = await last_seq(live_server, session_id)
    for size in SIZES:
        big = json.dumps({"type": "say", "client_id": f"big{size}", "text": "x" * size})
        assert await refused(person.ws, big) == 1009
        person = await ChatClient.open(live_server.ws, live_server.origin)
        await person.hello(token=token, last_seq=seen)
        chat = await sam.socket(session_id, after=before)
        await frames_until(chat, lambda f: f["type"] == "queue")
        big = json.dumps({"type": "say", "client_id": f"s{size}", "text": "y" * size})
        assert await refused(chat, big) == 1009
    assert await last_seq(live_server, session_id) == before  # nothing of them was stored

    # The chat goes on, both ways, on new connections; the server serves newcomers.
    cid = await person.say("still here")
    await person.recv_until(is_ack(cid))
    chat = await sam.socket(session_id, after=before)
    await frames_until(chat, lambda f: f.get("text") == "still here")
    await chat.send('{"type": "say", "client_id": "after", "text": "so am I"}')
    await person.recv_until(lambda f: f.get("text") == "so am I")
    assert await last_seq(live_server, session_id) == before + 2
    newcomer = await ChatClient.open(live_server.ws, live_server.origin)
    assert (await newcomer.hello())["state"] == "bot"
    async with svc.read() as session:
        longest = await session.scalar(select(func.max(func.length(Message.text))))
    assert longest is not None and longest < 10_000
    for ws in (chat, person.ws, newcomer.ws):
        await ws.close()


async def last_seq(server: LiveServer, session_id: int) -> int:
    async with services(server).read() as session:
        row = await session.get(ChatSession, session_id)
    assert row is not None
    return row.last_seq
