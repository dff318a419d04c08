"""A supervisor's whisper never reaches the person, over a real server.

Not live (the widget's socket is subscribed to the session's channel; the
whisper goes only to the counsellor's staff channel) and not on resume from
the start (it is a note, never a message with a seq). Watching is read-only
and for supervisors only. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed

from gateway.models import AuditEvent
from gateway.settings import Settings
from gateway.types import StaffRole
from tests.chat_client import Frame
from tests.conftest import LiveServer
from tests.counsellor_ui.support import (
    frames_until,
    quiet_frames,
    signed_in_as,
    use_quick_setup,
)
from tests.factories import make_staff
from tests.gateway.test_protocol_support import open_chat, queued_chat, serve, services_of

pytestmark = pytest.mark.asyncio
SECRET = "WHISPER-7f3a: ask gently about sleep"
JOINED = "Alex, a supervisor, has joined the chat to help."


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


@pytest_asyncio.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    async with serve(settings) as running:
        yield running


def is_message(text: str):  # type: ignore[no-untyped-def]
    return lambda f: f.get("type") == "message" and f.get("text") == text


def mentions_whisper(frames: list[Frame]) -> bool:
    return any(SECRET in json.dumps(f) or f.get("type") == "whisper" for f in frames)


async def test_a_whisper_reaches_the_counsellor_and_never_the_person(server: LiveServer) -> None:
    svc = services_of(server)
    person, session_id = await queued_chat(server)
    sam = await signed_in_as(server, await make_staff(svc, name="Sam"))
    alex = await signed_in_as(server, await make_staff(svc, name="Alex", role=StaffRole.SUPERVISOR))
    await sam.post(f"/counsellor/sessions/{session_id}/claim")
    seen_by_person = await person.recv_until(lambda f: f.get("type") == "message")
    counsellor = await sam.socket(session_id)
    await frames_until(counsellor, lambda f: f["type"] == "message")

    whispered = await alex.post(f"/counsellor/sessions/{session_id}/whisper", message=SECRET)
    assert whispered.status_code == 303 and "privately" in whispered.headers["location"]
    got = await frames_until(counsellor, lambda f: f["type"] == "whisper")
    assert got[-1] == {
        "type": "whisper",
        "session_id": session_id,
        "from_name": "Alex",
        "text": SECRET,
        "at": got[-1]["at"],
    }

    # Joining after the whisper tells the person: everything before it has arrived.
    await alex.post(f"/counsellor/sessions/{session_id}/join")
    seen_by_person += await person.recv_until(is_message(JOINED))
    seen_by_person += await person.quiet()
    assert not mentions_whisper(seen_by_person)

    # Back from the start: the whole transcript again, and still no whisper.
    again = await open_chat(server, token=person.token, last_seq=0)
    assert again.welcome is not None
    replay = await again.recv_until(lambda f: f.get("seq") == again.welcome["last_seq"])
    replay += await again.quiet()
    assert [f["seq"] for f in replay if f["type"] == "message"] == list(
        range(1, again.welcome["last_seq"] + 1)
    )
    assert any(f.get("text") == JOINED for f in replay)
    assert not mentions_whisper(replay)
    for client in (person, again):
        await client.close()
    await counsellor.close()


async def test_only_a_supervisor_watches_and_only_a_joined_one_writes(server: LiveServer) -> None:
    svc = services_of(server)
    person, session_id = await queued_chat(server)
    sam = await signed_in_as(server, await make_staff(svc, name="Sam"))
    jo = await signed_in_as(server, await make_staff(svc, name="Jo"))
    alex = await signed_in_as(server, await make_staff(svc, name="Alex", role=StaffRole.SUPERVISOR))
    await sam.post(f"/counsellor/sessions/{session_id}/claim")

    # A counsellor asking to watch someone else's chat is refused at the handshake.
    refused = await jo.socket(session_id, watch=True)
    with pytest.raises(ConnectionClosed) as closed:
        await refused.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    for step in ("watch",):
        page = await jo.get(f"/counsellor/sessions/{session_id}/{step}")
        assert page.status_code == 403 and "Sam" not in page.text
    for step in ("whisper", "join", "take-over"):
        assert (await jo.post(f"/counsellor/sessions/{session_id}/{step}")).status_code == 403

    watcher = await alex.socket(session_id, watch=True)
    await frames_until(watcher, lambda f: f["type"] == "message")  # the history
    # Reading through the socket alone is recorded too; the refused counsellor is not.
    async with svc.read() as session:
        watches = AuditEvent.action.in_(("watch", "watch_live"))
        audit = (
            await session.execute(select(AuditEvent.staff_id, AuditEvent.action).where(watches))
        ).all()
    assert [tuple(row) for row in audit] == [(alex.staff.id, "watch_live")]
    await person.say("is anyone there?")
    got = await frames_until(watcher, is_message("is anyone there?"))
    assert got[-1]["sender"] == "user"
    # Not joined: a line from the watcher goes nowhere.
    await watcher.send(json.dumps({"type": "say", "client_id": "w1", "text": "Hello"}))
    refusal = await frames_until(watcher, lambda f: f["type"] == "error")
    assert refusal[-1]["message"] == "Join the chat before writing to the person."

    await alex.post(f"/counsellor/sessions/{session_id}/join")
    await watcher.send(json.dumps({"type": "say", "client_id": "w2", "text": "I'm Alex."}))
    ack = await frames_until(watcher, lambda f: f["type"] == "ack")
    heard = await person.recv_until(is_message("I'm Alex."))
    assert heard[-1]["seq"] == ack[-1]["seq"]
    assert not [f for f in await quiet_frames(watcher) if f["type"] == "whisper"]
    await watcher.close()
    await person.close()
