"""The counsellor socket has the widget socket's guarantees (the live core, gateway/live/).

Each of these failed on the old counsellor socket: a failing heartbeat stopped
presence for good while the socket kept serving; a subscriber overflow left
the socket open and deaf; a lost event stalled the transcript for good.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

import gateway.live.feed
import gateway.live.hub
from counsellor_ui.ws import CounsellorConnection
from gateway.actions.records import append_message, lock_session
from gateway.broker.base import SUBSCRIBER_QUEUE_SIZE
from gateway.events import TypingChanged
from gateway.models import Staff
from gateway.services import Services
from gateway.settings import Settings
from gateway.types import SenderKind
from tests.chat_client import ChatClient, is_type
from tests.conftest import LiveServer
from tests.counsellor_ui.support import Browserless, frames_until, signed_in_as, use_quick_setup
from tests.factories import make_staff
from tests.gateway.test_protocol_support import serve, services_of

pytestmark = pytest.mark.asyncio

HEARTBEAT_S = 0.2


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


@contextlib.asynccontextmanager
async def live_chat(settings: Settings) -> AsyncIterator[tuple[LiveServer, ChatClient, Any, int]]:
    """A server with a short heartbeat, a person in a live chat with Sam, and Sam's chat socket."""
    async with serve(settings, heartbeat_s=HEARTBEAT_S) as server:
        svc = services_of(server)
        sam = await signed_in_as(server, await make_staff(svc, name="Sam"))
        person = await ChatClient.open(server.ws, server.origin)
        await person.hello()
        await person.recv_until(is_type("message"))
        await person.ask_for_a_person()
        session_id = next(iter(server.app.state.runtime.hub.snapshot.positions))
        response = await sam.post(f"/counsellor/sessions/{session_id}/claim")
        assert response.headers["location"] == f"/counsellor/sessions/{session_id}"
        chat = await sam.socket(session_id)
        await frames_until(chat, lambda f: f.get("text") == "Sam has joined the chat.")
        try:
            yield server, person, (sam, chat), session_id
        finally:
            await chat.close()
            await person.close()


def connection_of(server: LiveServer, session_id: int) -> CounsellorConnection:
    members = server.app.state.runtime.hub.members
    (found,) = [
        m for m in members if isinstance(m, CounsellorConnection) and m.session_id == session_id
    ]
    return found


async def store_without_event(svc: Services, session_id: int, text: str) -> int:
    """A message stored whose event is lost (as when Redis drops it)."""
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        message = await append_message(
            tx, chat, sender=SenderKind.USER, text=text, client_id=None, publish=False
        )
    return message.seq


async def close_code(ws: ClientConnection, timeout: float = 5.0) -> int | None:
    try:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None


async def seen_at(svc: Services, staff_id: int) -> Any:
    async with svc.read() as session:
        return (await session.execute(select(Staff.seen_at).where(Staff.id == staff_id))).scalar()


async def test_a_lost_event_reaches_the_counsellor_on_the_heartbeat(
    settings: Settings,
) -> None:
    async with live_chat(settings) as (server, _person, (_sam, chat), session_id):
        seq = await store_without_event(services_of(server), session_id, "are you still there?")
        got = await frames_until(chat, lambda f: f["type"] == "message" and f["seq"] == seq)
        assert got[-1]["text"] == "are you still there?" and got[-1]["sender"] == "user"


async def test_a_failing_heartbeat_does_not_stop_presence_for_good(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with live_chat(settings) as (server, _person, (sam, chat), _session_id):
        svc = services_of(server)
        failures = 0
        real = gateway.live.hub.mark_present

        async def failing_twice(*args: Any, **kwargs: Any) -> None:
            nonlocal failures
            if failures < 2:
                failures += 1
                raise OSError("database unreachable")
            await real(*args, **kwargs)

        monkeypatch.setattr(gateway.live.hub, "mark_present", failing_twice)
        before = await seen_at(svc, sam.staff.id)
        async with asyncio.timeout(10):
            while failures < 2 or await seen_at(svc, sam.staff.id) == before:
                await asyncio.sleep(HEARTBEAT_S)
        # The socket still serves: the chat goes on both ways.
        await chat.send('{"type": "say", "client_id": "c1", "text": "I am here."}')
        await frames_until(chat, lambda f: f["type"] == "ack" and f["client_id"] == "c1")


async def test_a_failure_in_the_connections_own_work_closes_it_instead_of_leaving_it_deaf(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with live_chat(settings) as (server, _person, (sam, chat), session_id):

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise OSError("database unreachable")

        monkeypatch.setattr(gateway.live.feed, "messages_after", broken)
        await store_without_event(services_of(server), session_id, "hello?")
        assert await close_code(chat) == 1011  # the page reconnects and resumes
        monkeypatch.undo()
        again = await sam.socket(session_id, after=0)
        got = await frames_until(again, lambda f: f.get("text") == "hello?")
        assert got[-1]["sender"] == "user"
        await again.close()


async def test_a_counsellor_socket_that_falls_behind_is_closed_to_resume(
    settings: Settings,
) -> None:
    async with live_chat(settings) as (server, _person, (sam, chat), session_id):
        connection = connection_of(server, session_id)
        assert connection.subscription is not None
        noise = TypingChanged(session_id=session_id + 1, sender="user", on=True)
        for _ in range(SUBSCRIBER_QUEUE_SIZE + 1):
            connection.subscription.deliver(noise)
        assert await close_code(chat) == 1013  # fell behind: reconnect and resume
        again: ClientConnection = await Browserless.socket(sam, session_id)
        await frames_until(again, lambda f: f.get("text") == "Sam has joined the chat.")
        await again.close()
