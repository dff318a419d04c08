"""A flood from one client while real people keep being served (issue 12, item 9).

One client (its own loopback address, 127.0.0.9) opens session after session,
sends frames past every limit, asks for a counsellor each time, sends broken
frames and resumes a long transcript from the start again and again. Meanwhile
three real people (127.0.0.2-4), each with a counsellor, exchange lines. Every
line of theirs must be acknowledged, stored once, gap-free and delivered in order
to their counsellor, and every counsellor line to them. The flood is bounded in
count and stops by itself. No timing is asserted here: bench/abuse.py measures
the latency of the other sessions with and without a flood.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from gateway.actions.messages import post_user_message
from gateway.models import ChatSession
from tests.chat_client import ChatClient, is_ack, is_type
from tests.conftest import LiveServer
from tests.counsellor_ui.support import Browserless, frames_until, signed_in_as
from tests.factories import make_session, make_staff
from tests.faults.support import claim, person_waiting, services

pytestmark = pytest.mark.asyncio

FLOODER = ("127.0.0.9", 0)
PEOPLE = 3
LINES = 12
LONG_TRANSCRIPT = 400
FLOOD_ROUNDS = 400  # upper bound: the flood also stops when the people are done
CLIENT_ERRORS = (ConnectionClosed, InvalidHandshake, InvalidStatus, OSError, TimeoutError)


async def one_flood_round(server: LiveServer, long_token: str, n: int) -> str:
    """A burst of everything one client can throw at the widget socket; what happened."""
    client = await ChatClient.open(server.ws, server.origin, local_addr=FLOODER)
    try:
        if n % 3 == 2:  # replay a long transcript from the start
            await client.send({"type": "hello", "v": 1, "token": long_token, "last_seq": 0})
        else:
            await client.send({"type": "hello", "v": 1, "token": None, "last_seq": 0})
        for i in range(60):
            await client.send({"type": "say", "client_id": f"f{n}-{i}", "text": "flood " * 20})
        await client.send({"type": "ask_counsellor"})
        for _ in range(5):
            await client.send_raw('{"type": "say", "text": ' + "[" * 50)
        await client.send({"type": "hello", "v": 1, "token": long_token, "last_seq": 0})
        await client.quiet(0.01)
        return "sent"
    finally:
        with contextlib.suppress(*CLIENT_ERRORS):
            await client.close()


async def flood(server: LiveServer, long_token: str, done: asyncio.Event) -> dict[str, int]:
    outcomes = {"sent": 0, "refused": 0}
    for n in range(FLOOD_ROUNDS):
        if done.is_set():
            break
        try:
            outcomes[await one_flood_round(server, long_token, n)] += 1
        except CLIENT_ERRORS:
            outcomes["refused"] += 1
            await asyncio.sleep(0.01)
    return outcomes


async def converse(
    person: ChatClient, counsellor: Browserless, session_id: int, tag: str
) -> tuple[list[int], list[str], list[str]]:
    """LINES lines each way in turn: the seqs acked, and what each side heard, in order."""
    socket = await counsellor.socket(session_id)
    frames = await frames_until(socket, is_type("queue"))
    acked: list[int] = []
    for n in range(LINES):
        cid = await person.say(f"{tag} person {n}")
        acked.append((await person.recv_until(is_ack(cid), timeout=30))[-1]["seq"])
        said, sent = f"{tag} person {n}", f"{tag}{n}"
        frames += await frames_until(socket, lambda f: f.get("text") == said, 30)  # noqa: B023
        await socket.send(f'{{"type": "say", "client_id": "{sent}", "text": "{tag} staff {n}"}}')
        frames += await frames_until(socket, lambda f: f.get("client_id") == sent, 30)  # noqa: B023
    await person.recv_until(lambda f: f.get("text") == f"{tag} staff {LINES - 1}", timeout=30)
    await socket.close()
    staff_heard = [f["text"] for f in frames if f["type"] == "message" and f["sender"] == "user"]
    person_heard = [f["text"] for f in person.seen if f.get("from") == "counsellor"]
    return acked, person_heard, staff_heard


async def test_a_flood_from_one_client_leaves_other_people_acked_delivered_in_order(
    live_server: LiveServer,
) -> None:
    svc = services(live_server)
    long_chat = await make_session(svc)
    for n in range(LONG_TRANSCRIPT):
        await post_user_message(svc, session_id=long_chat.id, client_id=f"l{n}", text=f"line {n}")
    async with svc.read() as session:
        row = await session.get(ChatSession, long_chat.id)
    assert row is not None and row.last_seq == LONG_TRANSCRIPT
    # The long session's token: a new one made the way the widget makes it.
    seed = await ChatClient.open(live_server.ws, live_server.origin, local_addr=FLOODER)
    await seed.hello()
    assert seed.token is not None
    await seed.close()

    people: list[tuple[ChatClient, int, Browserless, str]] = []
    for n in range(PEOPLE):
        person, session_id = await person_waiting(live_server, local_addr=(f"127.0.0.{n + 2}", 0))
        staff = await signed_in_as(live_server, await make_staff(svc, name=f"Staff{n}"))
        await claim(staff, session_id)
        await person.recv_until(lambda f: f["type"] == "state" and f["state"] == "live")
        people.append((person, session_id, staff, f"p{n}"))

    done = asyncio.Event()
    flooding = asyncio.create_task(flood(live_server, seed.token, done))
    await asyncio.sleep(0)
    try:
        results = await asyncio.gather(
            *(converse(person, staff, sid, tag) for person, sid, staff, tag in people)
        )
    finally:
        done.set()
        outcomes = await flooding
    assert outcomes["sent"] + outcomes["refused"] > 0

    for (person, session_id, staff, tag), (acked, person_heard, staff_heard) in zip(
        people, results, strict=True
    ):
        assert acked == sorted(acked) and len(set(acked)) == LINES
        assert person_heard == [f"{tag} staff {n}" for n in range(LINES)]
        assert staff_heard[-LINES:] == [f"{tag} person {n}" for n in range(LINES)]
        # The counsellor's view of the chat: every line of the person's, once, in order.
        page = await staff.get(f"/counsellor/sessions/{session_id}")
        positions = [page.text.index(f"{tag} person {n}<") for n in range(LINES)]
        assert positions == sorted(positions)
        assert all(page.text.count(f"{tag} person {n}<") == 1 for n in range(LINES))
        await person.close()
