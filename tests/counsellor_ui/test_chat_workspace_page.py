"""The chat workspace page and socket over a real server: tabs for every live chat
held, the chat in the address selected, and a deleted chat told live and shown as such."""

from __future__ import annotations

import re

import pytest

from gateway.actions.canned import save_canned
from gateway.actions.queue import claim_session
from gateway.actions.sessions import erase_session
from gateway.services import Services
from gateway.types import StaffRole
from tests.conftest import LiveServer
from tests.counsellor_ui.support import frames_until, signed_in_as
from tests.factories import make_queued_session, make_staff

pytestmark = pytest.mark.asyncio


def services(server: LiveServer) -> Services:
    svc: Services = server.app.state.runtime.svc
    return svc


def selected_tab(html: str) -> str:
    (found,) = re.findall(r'role="tab" id="tab-(\d+)"[^>]*aria-selected="true"', html)
    return found


async def test_every_live_chat_is_a_tab_and_the_address_chooses_one(
    live_server: LiveServer,
) -> None:
    svc = services(live_server)
    sam = await signed_in_as(live_server, await make_staff(svc, name="Sam"))
    jo = await signed_in_as(live_server, await make_staff(svc, name="Jo"))
    lead = await make_staff(svc, name="Lead", role=StaffRole.SUPERVISOR)
    await save_canned(svc, staff=lead, title="Breathe", body="Shall we <breathe>?", shortcut="b")
    first, second = await make_queued_session(svc), await make_queued_session(svc)
    for chat in (first, second):
        assert (await claim_session(svc, session_id=chat.id, staff_id=sam.staff.id)).won

    page = (await sam.get(f"/counsellor/sessions/{second.id}")).text
    assert re.findall(r'role="tab" id="tab-(\d+)"', page) == [str(first.id), str(second.id)]
    assert selected_tab(page) == str(second.id)
    assert f'id="panel-{first.id}" aria-labelledby="tab-{first.id}"' in page
    assert re.search(rf'id="panel-{first.id}"[^>]*hidden>', page)
    assert not re.search(rf'id="panel-{second.id}"[^>]*hidden>', page)
    # Canned responses reach the page as data, escaped, for the "/" menu.
    assert '"shortcut": "b"' in page and "\\u003cbreathe\\u003e" in page
    assert "<breathe>" not in page
    assert selected_tab((await sam.get(f"/counsellor/sessions/{first.id}")).text) == str(first.id)

    # Someone else's chat keeps today's answer: who has it, no transcript.
    other = await jo.get(f"/counsellor/sessions/{first.id}")
    assert other.status_code == 403 and "This chat is not yours" in other.text


async def test_a_deleted_chat_is_told_live_and_shown_without_its_notes(
    live_server: LiveServer,
) -> None:
    svc = services(live_server)
    sam = await signed_in_as(live_server, await make_staff(svc, name="Sam"))
    chat = await make_queued_session(svc)
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.staff.id)).won
    await sam.post(f"/counsellor/sessions/{chat.id}/notes", note="Mentioned her school")
    ws = await sam.socket(chat.id)
    await frames_until(ws, lambda f: f["type"] == "queue")

    await erase_session(svc, session_id=chat.id)
    frames = await frames_until(ws, lambda f: f["type"] == "state")
    assert frames[-1] == {
        "type": "state",
        "session_id": chat.id,
        "state": "erased",
        "mine": False,
    }
    await ws.close()

    page = (await sam.get(f"/counsellor/sessions/{chat.id}")).text
    assert "The person deleted this conversation." in page
    assert "Mentioned her school" not in page  # HAVEN_ERASE_STAFF_RECORDS=outcomes
    assert re.search(r'data-role="notes"[^>]*hidden>', page)
    assert not re.search(r'data-role="wrap-needed"[^>]*hidden>', page)
    wrap_up = (await sam.get(f"/counsellor/sessions/{chat.id}/wrap-up")).text
    assert "Notes are not kept for" in wrap_up
    assert 'name="notes"' not in wrap_up
