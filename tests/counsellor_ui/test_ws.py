"""The counsellor websocket over a real server: handshake, live chat, and authorisation."""

from __future__ import annotations

import pytest
from websockets.exceptions import ConnectionClosed

from gateway.actions.queue import ordered_queue
from gateway.services import Services
from gateway.types import StaffRole
from tests.chat_client import ChatClient, is_type
from tests.conftest import LiveServer
from tests.counsellor_ui.support import (
    Browserless,
    frames_until,
    quiet_frames,
    signed_in_as,
)
from tests.factories import make_staff

pytestmark = pytest.mark.asyncio


def services(server: LiveServer) -> Services:
    svc: Services = server.app.state.runtime.svc
    return svc


def of_type(kind: str, **fields: object) -> object:
    return lambda f: f["type"] == kind and all(f.get(k) == v for k, v in fields.items())


async def person_waiting(server: LiveServer) -> tuple[ChatClient, int]:
    """A person on the widget who asked for a counsellor, and their session id."""
    person = await ChatClient.open(server.ws, server.origin)
    await person.hello()
    await person.recv_until(is_type("message"))
    await person.ask_for_a_person()
    (chat,) = await ordered_queue(services(server))
    return person, chat.id


async def claimed_by(counsellor: Browserless, session_id: int) -> None:
    response = await counsellor.post(f"/counsellor/sessions/{session_id}/claim")
    assert response.headers["location"] == f"/counsellor/sessions/{session_id}"


async def closed_with(ws: object, code: int) -> bool:
    try:
        await quiet_frames(ws, 2.0)  # type: ignore[arg-type]
        await ws.recv()  # type: ignore[attr-defined]
    except ConnectionClosed as exc:
        return exc.rcvd is not None and exc.rcvd.code == code
    return False


async def test_the_handshake_needs_the_cookie_the_origin_and_the_chat(
    live_server: LiveServer,
) -> None:
    svc = services(live_server)
    sam = await signed_in_as(live_server, await make_staff(svc, name="Sam"))
    jo = await signed_in_as(live_server, await make_staff(svc, name="Jo"))
    person, session_id = await person_waiting(live_server)
    await claimed_by(sam, session_id)

    stranger = Browserless(live_server, jo.staff, "not-a-session", "")
    refused = [
        await stranger.socket(),  # no valid session cookie
        await sam.socket(origin="https://evil.example"),  # a page elsewhere
        await jo.socket(session_id),  # someone else's chat, by URL
        await jo.socket(999_999),  # no such chat
    ]
    for ws in refused:
        assert await closed_with(ws, 1008)
    queue_only = await jo.socket()
    first = await frames_until(queue_only, of_type("queue"))
    assert first[-1]["rows"] == [] and first[-1]["mine"] == []
    await queue_only.close()
    await person.close()


async def test_live_chat_both_ways_with_typing_and_delivery(live_server: LiveServer) -> None:
    svc = services(live_server)
    sam = await signed_in_as(live_server, await make_staff(svc, name="Sam"))
    person, session_id = await person_waiting(live_server)
    await claimed_by(sam, session_id)
    await person.recv_until(lambda f: f["type"] == "state" and f["state"] == "live")
    chat = await sam.socket(session_id)
    frames = await frames_until(chat, of_type("queue"))
    # Everything stored so far comes over the socket after the queue (after=0).
    history = await frames_until(chat, lambda f: f.get("text") == "Sam has joined the chat.")
    assert next(f["seq"] for f in history if f["type"] == "message") == 1
    assert not [f for f in frames if f["type"] == "error"]

    await chat.send('{"type": "say", "client_id": "c1", "text": "Hi, I\'m Sam."}')
    got = await frames_until(chat, of_type("ack", client_id="c1"))
    seq = got[-1]["seq"]
    heard = await person.recv_until(lambda f: f["type"] == "message" and f["seq"] == seq)
    assert heard[-1]["from"] == "counsellor" and heard[-1]["name"] == "Sam"
    # A resend with the same client id is stored once and acknowledged again.
    await chat.send('{"type": "say", "client_id": "c1", "text": "Hi, I\'m Sam."}')
    again = await frames_until(chat, of_type("ack", client_id="c1"))
    assert again[-1]["seq"] == seq

    await chat.send('{"type": "typing", "on": true}')
    typing = await person.recv_until(is_type("typing"))
    assert typing[-1] == {"type": "typing", "from": "counsellor", "on": True}
    await person.send({"type": "typing", "on": True})
    await frames_until(chat, of_type("typing", session_id=session_id, on=True))
    await person.say("thank you")
    said = await frames_until(chat, lambda f: f["type"] == "message" and f["sender"] == "user")
    assert said[-1]["text"] == "thank you"

    await chat.send('{"type": "say", "client_id": "c2", "text": "x", "session_id": 99}')
    refused = await frames_until(chat, of_type("error"))
    assert "not understood" in refused[-1]["message"]
    await chat.close()
    await person.close()


async def test_after_a_transfer_the_old_owner_can_neither_read_nor_write(
    live_server: LiveServer,
) -> None:
    svc = services(live_server)
    sam = await signed_in_as(live_server, await make_staff(svc, name="Sam"))
    jo = await signed_in_as(live_server, await make_staff(svc, name="Jo"))
    person, session_id = await person_waiting(live_server)
    await claimed_by(sam, session_id)
    sams_chat = await sam.socket(session_id)
    jos_queue = await jo.socket()
    await frames_until(jos_queue, of_type("queue"))

    offered = await sam.post(
        f"/counsellor/sessions/{session_id}/transfer", to=str(jo.staff.id), note="Exams."
    )
    assert offered.status_code == 303 and "offered+to+Jo" in offered.headers["location"]
    # An offer: Jo reads the note first; the chat is still Sam's until Jo accepts.
    offer = await frames_until(jos_queue, of_type("transfer_offer"))
    assert offer[-1] == {
        "type": "transfer_offer",
        "session_id": session_id,
        "status": "offered",
        "incoming": True,
        "from_name": "Sam",
        "to_name": "Jo",
        "note": "Exams.",
    }
    waiting = await frames_until(sams_chat, of_type("transfer_offer"))
    assert (waiting[-1]["incoming"], waiting[-1]["to_name"]) == (False, "Jo")
    accepted = await jo.post(f"/counsellor/sessions/{session_id}/transfer/accept")
    assert accepted.status_code == 303
    assert accepted.headers["location"].startswith(f"/counsellor/sessions/{session_id}")
    told = await person.recv_until(lambda f: f.get("text") == "Jo has joined the chat.")
    assert any("passed to another counsellor" in f.get("text", "") for f in told)
    state = await frames_until(sams_chat, of_type("state"))
    assert state[-1] == {
        "type": "state",
        "session_id": session_id,
        "state": "live",
        "mine": False,
        "counsellor": "Jo",
    }
    handed = await frames_until(jos_queue, of_type("transferred"))
    assert handed[-1] == {"type": "transferred", "session_id": session_id, "from_name": "Sam"}

    await person.say("is anyone there")
    late = await quiet_frames(sams_chat, 0.5)
    assert not [f for f in late if f["type"] in ("message", "typing")]
    await sams_chat.send('{"type": "say", "client_id": "s9", "text": "still me"}')
    refused = await frames_until(sams_chat, of_type("error"))
    assert refused[-1]["client_id"] == "s9"
    assert (await sam.get(f"/counsellor/sessions/{session_id}")).status_code == 403
    assert await closed_with(await sam.socket(session_id), 1008)

    jos_chat = await jo.socket(session_id)
    seen = await frames_until(jos_chat, lambda f: f.get("text") == "is anyone there")
    assert seen[-1]["sender"] == "user"
    for ws in (sams_chat, jos_queue, jos_chat):
        await ws.close()
    await person.close()


async def test_signing_out_or_being_deactivated_closes_the_sockets(
    live_server: LiveServer,
) -> None:
    svc = services(live_server)
    lead = await signed_in_as(live_server, await make_staff(svc, name="Ada", role=StaffRole.ADMIN))
    sam = await signed_in_as(live_server, await make_staff(svc, name="Sam"))
    jo = await signed_in_as(live_server, await make_staff(svc, name="Jo"))
    sams, jos = await sam.socket(), await jo.socket()
    for ws in (sams, jos):
        await frames_until(ws, of_type("queue"))
    assert (await sam.post("/counsellor/sign-out")).status_code == 303
    assert await closed_with(sams, 1008)
    assert (await sam.get("/counsellor/")).headers["location"] == "/counsellor/sign-in"

    response = await lead.post("/counsellor/staff/active", id=str(jo.staff.id), active="no")
    assert "deactivated" in response.headers["location"]
    assert await closed_with(jos, 1008)
    assert await closed_with(await jo.socket(), 1008)


async def test_the_dashboard_marks_a_chat_waiting_for_a_reply_as_messages_arrive(
    live_server: LiveServer,
) -> None:
    svc = services(live_server)
    sam = await signed_in_as(live_server, await make_staff(svc, name="Sam"))
    person, session_id = await person_waiting(live_server)
    await claimed_by(sam, session_id)
    dashboard = await sam.socket()
    first = await frames_until(dashboard, of_type("queue"))
    (mine,) = first[-1]["mine"]
    assert (mine["session_id"], mine["unread"]) == (session_id, 0)

    await person.say("are you there")
    await person.say("hello?")
    marked = await frames_until(dashboard, of_type("marker", unread=2))
    assert marked[-1] == {
        "type": "marker",
        "session_id": session_id,
        "person_waiting": True,
        "unread": 2,
    }
    chat = await sam.socket(session_id)
    await chat.send('{"type": "say", "client_id": "s1", "text": "I am here"}')
    answered = await frames_until(dashboard, of_type("marker", unread=0))
    assert answered[-1]["person_waiting"] is False
    for ws in (dashboard, chat):
        await ws.close()
    await person.close()
