"""Hidden and direction-changing characters reach staff as visible markers, over a real server.

A person writes "pay \u202e01" (U+202E RIGHT-TO-LEFT OVERRIDE): shown raw, the rest of
the line is drawn backwards. Before ``gateway/visible_text.py`` it reached eight staff
pages and every staff frame raw. Now every page (the dashboard's preview, the chat's
transcript) and every frame (the queue's preview, the live chat) carries
``[U+202E]`` instead, and the stored text is unchanged.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from counsellor_ui.web import marked
from gateway.actions.queue import ordered_queue
from gateway.models import Message
from gateway.services import Services
from tests.chat_client import ChatClient, is_type
from tests.conftest import LiveServer
from tests.counsellor_ui.support import frames_until, signed_in_as
from tests.factories import make_staff

pytestmark = pytest.mark.asyncio

RLO = "\u202e"
WRITTEN = f"pay {RLO}01 and \u200bhidden\u2066 bits\ufeff"
SHOWN = "pay [U+202E]01 and [U+200B]hidden[U+2066] bits[U+FEFF]"
HIDDEN = (RLO, "\u200b", "\u2066", "\ufeff")


def unbadged(html: str) -> str:
    """A page's HTML with each marker's badge (a styled span) reduced to the marker."""
    return re.sub(r'<span class="hidden-char">(\[U\+[0-9A-F]+\])</span>', r"\1", html)


async def test_a_persons_override_characters_are_shown_as_markers_to_staff(
    live_server: LiveServer,
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    # A colleague's name with an override in it, as an admin might paste it.
    sam = await signed_in_as(live_server, await make_staff(svc, name=f"Sam{RLO}"))

    person = await ChatClient.open(live_server.ws, live_server.origin)
    await person.hello()
    await person.recv_until(is_type("message"))
    await person.ask_for_a_person()
    await person.say(WRITTEN)
    await person.recv_until(is_type("ack"))
    (chat,) = await ordered_queue(svc)

    queue_socket = await sam.socket()
    queued = await frames_until(
        queue_socket,
        lambda f: f["type"] == "queue" and f["rows"] and "pay" in f["rows"][0]["preview"],
    )
    assert queued[-1]["rows"][0]["preview"].endswith(SHOWN)
    await queue_socket.close()

    dashboard = await sam.get("/counsellor/")
    assert SHOWN in unbadged(dashboard.text)
    assert '<span class="hidden-char">[U+202E]</span>' in dashboard.text
    assert "Sam[U+202E]" in dashboard.text

    claimed = await sam.post(f"/counsellor/sessions/{chat.id}/claim")
    assert claimed.status_code == 303
    conversation = await sam.get(f"/counsellor/sessions/{chat.id}")
    assert SHOWN in unbadged(conversation.text)

    live = await sam.socket(chat.id)
    history = await frames_until(live, lambda f: f["type"] == "message" and "pay" in f["text"])
    assert history[-1]["text"] == SHOWN
    await person.say(f"{RLO}again")
    said = await frames_until(live, lambda f: f["type"] == "message" and "again" in f["text"])
    assert said[-1]["text"] == "[U+202E]again"
    await live.close()
    await person.close()

    for page in (dashboard.text, conversation.text):
        assert not any(char in page for char in HIDDEN)
    # What was stored is what the person wrote.
    async with svc.read() as session:
        texts = set((await session.execute(select(Message.text))).scalars())
    assert WRITTEN in texts and f"{RLO}again" in texts


async def test_a_transfer_answer_names_the_colleague_with_markers(live_server: LiveServer) -> None:
    svc: Services = live_server.app.state.runtime.svc
    sam = await signed_in_as(live_server, await make_staff(svc, name=f"Sam{RLO}"))
    jo = await signed_in_as(live_server, await make_staff(svc, name="Jo"))
    person = await ChatClient.open(live_server.ws, live_server.origin)
    await person.hello()
    await person.ask_for_a_person()
    (chat,) = await ordered_queue(svc)
    assert (await sam.post(f"/counsellor/sessions/{chat.id}/claim")).status_code == 303
    offered = await sam.post(
        f"/counsellor/sessions/{chat.id}/transfer", to=str(jo.staff.id), note="Exams."
    )
    assert "offered+to+Jo" in offered.headers["location"]
    # The offer banner (live.js) accepts with fetch and shows the answer's message.
    async with jo.http() as client:
        answer = await client.post(
            f"/counsellor/sessions/{chat.id}/transfer/accept",
            data={"csrf_token": jo.csrf},
            headers={"X-Requested-With": "fetch"},
        )
    assert answer.json()["ok"] is True
    assert "Sam[U+202E]'s handover note" in answer.json()["message"]
    await person.close()


async def test_the_badge_filter_escapes_first_and_badges_only_markers() -> None:
    assert marked(f"<b>{RLO}x</b>") == (
        '&lt;b&gt;<span class="hidden-char">[U+202E]</span>x&lt;/b&gt;'
    )
    assert marked(None) == "" and marked("plain") == "plain"
