"""What staff pages show of a chat after close: masked contact details, or a purge notice.

Over a real server, on SQLite and PostgreSQL: the counsellor's page of a closed chat
masks the person's phone number before the redaction sweep has run (the bot's
helpline numbers stay); after the retention purge the counsellor's page and a
supervisor's watch page say plainly that the text was removed under the policy.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.actions.messages import post_user_message
from gateway.actions.queue import claim_session
from gateway.actions.records import append_message, lock_session
from gateway.actions.retention import purge_expired
from gateway.actions.sessions import leave_session
from gateway.models import Staff, utcnow
from gateway.redaction import PHONE_MASK
from gateway.services import Services
from gateway.types import SenderKind, StaffRole
from tests.conftest import LiveServer
from tests.counsellor_ui.support import signed_in_as
from tests.factories import make_queued_session, make_staff

pytestmark = pytest.mark.asyncio
NUMBER = "07700 900321"
BOT = "You can call Childline on 0800 1111."


async def closed_chat(svc: Services) -> tuple[int, Staff]:
    chat = await make_queued_session(svc)
    async with svc.transaction() as tx:
        await append_message(tx, await lock_session(tx, chat.id), sender=SenderKind.BOT, text=BOT)
    await post_user_message(svc, session_id=chat.id, client_id="p1", text=f"ring me on {NUMBER}")
    sam = await make_staff(svc, name="Sam")
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).won
    await leave_session(svc, session_id=chat.id)
    return chat.id, sam


async def test_a_closed_chat_is_masked_on_its_page_before_the_sweep(
    live_server: LiveServer,
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    session_id, holder = await closed_chat(svc)
    sam = await signed_in_as(live_server, holder)
    page = await sam.get(f"/counsellor/sessions/{session_id}")
    assert page.status_code == 200
    assert NUMBER not in page.text and PHONE_MASK in page.text
    assert "0800 1111" in page.text  # the bot's helpline stays readable


async def test_a_purged_chat_says_its_text_was_removed(live_server: LiveServer) -> None:
    svc: Services = live_server.app.state.runtime.svc
    session_id, holder = await closed_chat(svc)
    later = utcnow() + timedelta(days=31)
    svc.clock = lambda: later
    assert (await purge_expired(svc)).sessions == 1
    sam = await signed_in_as(live_server, holder)
    lead = await signed_in_as(live_server, await make_staff(svc, role=StaffRole.SUPERVISOR))
    pages = (
        (sam, f"/counsellor/sessions/{session_id}"),
        (lead, f"/counsellor/sessions/{session_id}/watch"),
    )
    for who, url in pages:
        page = await who.get(url)
        assert page.status_code == 200, url
        assert "text was removed under the retention policy" in page.text
        assert "ring me on" not in page.text and BOT not in page.text
