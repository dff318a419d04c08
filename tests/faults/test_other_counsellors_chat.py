"""Another counsellor's chat, tried by URL, by socket and by export (issue 12, item 9).

Sam holds a live chat and has ended another; a third person only talked to the bot.
Jo, a counsellor signed in with a valid session and CSRF token, tries every chat
route, the counsellor socket and the statistics export against each of them. Nothing
may change and no word of any of them may reach Jo. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from starlette.routing import Route
from websockets.exceptions import ConnectionClosed

from counsellor_ui import counsellor_routes
from gateway.types import StaffRole
from tests.chat_client import ChatClient, is_type
from tests.conftest import LiveServer
from tests.counsellor_ui.support import Browserless, frames_until, quiet_frames, signed_in_as
from tests.factories import make_staff
from tests.faults.support import (
    claim,
    end_chat,
    footprint,
    person_waiting,
    services,
    session_of,
)

pytestmark = pytest.mark.asyncio

# Words only the chats' own people wrote: none may appear in anything Jo receives.
PERSON_LIVE = "my private words zq1"
SAM_REPLY = "sams reply zq2"
SAM_NOTE = "sams note zq3"
PERSON_ENDED = "an ended chat zq4"
WRAP_UP = "wrap up notes zq5"
BOT_ONLY = "only told the bot zq6"
SECRETS = (PERSON_LIVE, SAM_REPLY, SAM_NOTE, PERSON_ENDED, WRAP_UP, BOT_ONLY)


def chat_routes() -> list[tuple[str, str]]:
    """Every workspace route that names a chat, with each of its methods."""
    found = []
    for route in counsellor_routes():
        if isinstance(route, Route) and "{session_id:int}" in route.path:
            found += [(m, route.path) for m in sorted(route.methods or ()) if m != "HEAD"]
    return found


def leaked(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


@dataclass
class Scene:
    sam: Browserless
    jo: Browserless  # another counsellor, signed in, trying to get at Sam's chats
    chats: dict[str, int]  # "live", "ended", "bot": session ids
    people: list[ChatClient]


@pytest_asyncio.fixture
async def scene(live_server: LiveServer) -> AsyncIterator[Scene]:
    sam, chats, people = await sams_chats(live_server)
    jo = await signed_in_as(live_server, await make_staff(services(live_server), name="Jo"))
    yield Scene(sam, jo, chats, people)
    for person in people:
        await person.close()


async def sams_chats(server: LiveServer) -> tuple[Browserless, dict[str, int], list[ChatClient]]:
    """Sam with a live chat (a line each way and a note), an ended one, and a bot-only chat."""
    svc = services(server)
    sam = await signed_in_as(server, await make_staff(svc, name="Sam"))
    live_person, live = await person_waiting(server, PERSON_LIVE)
    await claim(sam, live)
    socket = await sam.socket(live)
    await socket.send(f'{{"type": "say", "client_id": "s1", "text": "{SAM_REPLY}"}}')
    await frames_until(socket, lambda f: f["type"] == "ack")
    await socket.close()
    assert (await sam.post(f"/counsellor/sessions/{live}/notes", note=SAM_NOTE)).status_code == 303

    ended_person, ended = await person_waiting(server, PERSON_ENDED)
    await claim(sam, ended)
    await end_chat(sam, ended, WRAP_UP)

    bot_person = await ChatClient.open(server.ws, server.origin)
    await bot_person.hello()
    await bot_person.recv_until(is_type("message"), timeout=30)
    await bot_person.say(BOT_ONLY)
    await bot_person.recv_until(is_type("ack"))
    bot_only = await session_of(svc, bot_person)
    people = [live_person, ended_person, bot_person]
    return sam, {"live": live, "ended": ended, "bot": bot_only}, people


async def test_another_counsellors_chat_by_every_url_changes_nothing_and_shows_nothing(
    live_server: LiveServer, scene: Scene
) -> None:
    svc = services(live_server)
    sam, jo, chats = scene.sam, scene.jo, scene.chats
    form = {
        "note": "jo was here",
        "notes": "jo was here",
        "message": "jo was here",
        "to": str(jo.staff.id),
        "outcome": svc.settings.wrapup_outcomes[0],
        "risk_level": "low",
    }
    tried = 0
    for kind, session_id in chats.items():
        before = await footprint(svc, session_id)
        for method, path in chat_routes():
            url = "/counsellor" + path.replace("{session_id:int}", str(session_id))
            if method == "GET":
                response = await jo.get(url)
            else:
                response = await jo.post(url, **form)
            tried += 1
            where = (kind, method, path, response.status_code)
            assert response.status_code in (303, 400, 403, 404, 409), where
            assert leaked(response.text + response.headers.get("location", "")) == [], where
            # A claim of a chat that is not waiting is refused, not taken.
            assert await footprint(svc, session_id) == before, where
    assert tried == 3 * len(chat_routes())
    # Sam still has everything.
    page = await sam.get(f"/counsellor/sessions/{chats['live']}")
    assert PERSON_LIVE in page.text and SAM_NOTE in page.text


async def test_another_counsellors_chat_by_socket_is_refused_and_never_streamed(
    scene: Scene,
) -> None:
    sam, jo, chats = scene.sam, scene.jo, scene.chats
    for session_id in chats.values():
        for watch in (False, True):  # a counsellor asking to watch is refused too
            ws = await jo.socket(session_id, watch=watch)
            got = await quiet_frames(ws, 1.0)
            assert [f for f in got if f.get("type") == "message"] == []
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    # Jo's dashboard socket while Sam and the person talk: queue frames, no lines.
    dashboard = await jo.socket()
    await frames_until(dashboard, lambda f: f["type"] == "queue")
    sams = await sam.socket(chats["live"])
    await frames_until(sams, lambda f: f["type"] == "queue")
    live_person = scene.people[0]
    await live_person.say("said while jo listens zq7")
    await frames_until(sams, lambda f: f.get("text") == "said while jo listens zq7")
    await sams.send('{"type": "say", "client_id": "s2", "text": "answered zq8"}')
    await frames_until(sams, lambda f: f["type"] == "ack" and f["client_id"] == "s2")
    heard = await quiet_frames(dashboard, 1.0)
    assert [f for f in heard if f["type"] not in ("queue", "presence", "board")] == []
    assert all("zq" not in str(f) for f in heard)
    for ws in (dashboard, sams):
        await ws.close()


async def test_another_counsellors_chat_by_export_gives_counts_and_never_words(
    live_server: LiveServer, scene: Scene
) -> None:
    svc = services(live_server)
    lead = await signed_in_as(
        live_server, await make_staff(svc, name="Lead", role=StaffRole.SUPERVISOR)
    )
    refused = await scene.jo.get("/counsellor/statistics.csv")
    assert refused.status_code == 403 and leaked(refused.text) == []
    export = await lead.get("/counsellor/statistics.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert "Assessed risk" in export.text and leaked(export.text) == []
