"""An admin erases a conversation by its reference: found, confirmed, erased, audited.

Over a real server, on SQLite and PostgreSQL: the person still connected is told
``erased``; the rows are gone; the audit line names the admin; supervisors and
counsellors are refused and erase nothing; a mistyped number finds nothing and
erases nothing; bad input is a plain page, never a 500.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway.actions.audit import ERASE
from gateway.actions.queue import claim_session
from gateway.models import AuditEvent
from gateway.services import Services
from gateway.types import StaffRole
from tests.chat_client import ChatClient, is_ack, is_type
from tests.conftest import LiveServer
from tests.counsellor_ui.support import signed_in_as, transcript
from tests.factories import make_staff
from tests.gateway.test_protocol_support import chat_row, close_code, greeted_chat, services_of

pytestmark = pytest.mark.asyncio
WAIT_S = 30.0  # generous on a busy machine; nothing here measures time


async def live_chat(server: LiveServer) -> tuple[ChatClient, int]:
    """A person chatting live with a counsellor, still connected."""
    svc = services_of(server)
    client = await greeted_chat(server)
    cid = await client.say("please keep this between us")
    await client.recv_until(is_ack(cid), timeout=WAIT_S)
    await client.ask_for_a_person(timeout=WAIT_S)
    assert client.token is not None
    session_id = (await chat_row(server.settings.effective_database_url, client.token)).id
    sam = await make_staff(svc, name="Sam")
    assert (await claim_session(svc, session_id=session_id, staff_id=sam.id)).won
    return client, session_id


async def erase_lines(svc: Services) -> list[AuditEvent]:
    async with svc.read() as session:
        rows = await session.execute(select(AuditEvent).where(AuditEvent.action == ERASE))
        return list(rows.scalars())


async def test_an_admin_finds_confirms_and_erases_a_live_chat(live_server: LiveServer) -> None:
    svc = services_of(live_server)
    client, session_id = await live_chat(live_server)
    admin = await signed_in_as(live_server, await make_staff(svc, role=StaffRole.ADMIN))

    form = await admin.get("/counsellor/erase")
    assert form.status_code == 200 and "Chat number" in form.text
    found = await admin.get(f"/counsellor/erase?session=Chat%20{session_id}")
    assert found.status_code == 200
    assert f"Erase chat {session_id}" in found.text and "live now" in found.text
    assert await transcript(svc, session_id) != []  # looking erases nothing

    done = await admin.post("/counsellor/erase", session=str(session_id))
    assert done.status_code == 303 and done.headers["location"].startswith("/counsellor/erase?")
    # The person's widget is told and closed, as with their own "Delete my conversation".
    assert (await client.recv_until(is_type("erased"), timeout=WAIT_S))[-1] == {"type": "erased"}
    assert await close_code(client) == 1000
    assert await transcript(svc, session_id) == []
    lines = await erase_lines(svc)
    assert [(e.session_id, e.staff_id, e.detail) for e in lines] == [
        (session_id, admin.staff.id, "by an admin (live)")
    ]
    after = await admin.get(done.headers["location"])
    assert f"Chat {session_id} is erased" in after.text


@pytest.mark.parametrize("role", [StaffRole.COUNSELLOR, StaffRole.SUPERVISOR])
async def test_only_admins_may_erase(live_server: LiveServer, role: StaffRole) -> None:
    svc = services_of(live_server)
    client, session_id = await live_chat(live_server)
    someone = await signed_in_as(live_server, await make_staff(svc, role=role))
    assert (await someone.get(f"/counsellor/erase?session={session_id}")).status_code == 403
    assert (await someone.post("/counsellor/erase", session=str(session_id))).status_code == 403
    assert await transcript(svc, session_id) != []
    assert await erase_lines(svc) == []
    await client.close()


async def test_a_mistyped_or_bad_number_erases_nothing(live_server: LiveServer) -> None:
    svc = services_of(live_server)
    client, session_id = await live_chat(live_server)
    admin = await signed_in_as(live_server, await make_staff(svc, role=StaffRole.ADMIN))
    for typed in (str(session_id + 1000), "abc", "²", "99999999999999999999", "-1", "%00"):
        page = await admin.get(f"/counsellor/erase?session={typed}")
        assert page.status_code == 200, typed
        assert "Erase chat" not in page.text
        assert "There is no chat" in page.text or "That is not a chat number" in page.text
    for posted in ("", "abc", "²", "99999999999999999999"):
        assert (await admin.post("/counsellor/erase", session=posted)).status_code == 400
    assert (
        await admin.post("/counsellor/erase", session=str(session_id + 1000))
    ).status_code == 404
    async with admin.http() as http:  # no CSRF token: refused
        refused = await http.post("/counsellor/erase", data={"session": str(session_id)})
    assert refused.status_code == 403
    assert await transcript(svc, session_id) != []
    assert await erase_lines(svc) == []
    await client.close()
