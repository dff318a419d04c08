"""True availability: who is on duty, who of them is free, and what the person and
the bot are told from it (issue 10, items 1 and 10).

On duty: active staff with the counsellor role (never supervisors or admins),
marked available, whose workspace is open (seen within three heartbeats).
Free: those of them holding fewer live chats than the limit.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from bot_engine import UserMessage
from counsellor_ui.auth import SESSION_COOKIE
from gateway.actions.bot import run_bot
from gateway.actions.queue import claim_session
from gateway.models import Staff
from gateway.services import Services
from gateway.settings import Settings
from gateway.types import StaffRole
from tests.chat_client import ChatClient, Frame
from tests.conftest import LiveServer, make_settings
from tests.counsellor_ui.support import (
    Browserless,
    frames_until,
    quiet_frames,
    signed_in_as,
    use_quick_setup,
)
from tests.factories import make_queued_session, make_staff
from tests.gateway.test_helplines import CRISIS, consented, said
from tests.gateway.test_protocol_support import open_chat, services_of

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # A short heartbeat, so that a workspace left without a connection goes stale
    # within the test (three heartbeats); the hub refreshes the queue each heartbeat.
    return make_settings(database_url, tmp_path, heartbeat_s=1.5)


@contextlib.asynccontextmanager
async def sockets(*opened: ClientConnection) -> AsyncIterator[None]:
    try:
        yield
    finally:
        for ws in opened:
            # Read what is queued first: a full receive queue would hold up the close.
            await quiet_frames(ws, 0.05)
            await ws.close()


async def fill(svc: Services, staff: Staff) -> list[int]:
    """Give a counsellor as many chats as they may hold."""
    held = []
    for _ in range(svc.settings.counsellor_max_chats):
        waiting = await make_queued_session(svc)
        assert (await claim_session(svc, session_id=waiting.id, staff_id=staff.id)).won
        held.append(waiting.id)
    return held


async def presence_only(who: Browserless) -> ClientConnection:
    """The socket live.js opens on a page that shows neither the queue nor a chat."""
    return await connect(
        f"{who.server.ws}/counsellor/ws?presence=1",
        origin=Origin(who.server.origin),
        additional_headers={"Cookie": f"{SESSION_COOKIE}={who.cookie}"},
    )


def queue_frames(client: ChatClient) -> list[Frame]:
    return [f for f in client.seen if f["type"] == "queue"]


async def test_supervisors_and_full_counsellors_are_not_counted_and_every_page_keeps_presence(
    live_server: LiveServer,
) -> None:
    svc = services_of(live_server)
    # Sam is full and works on a chat page; Lee is free on a page with no socket of
    # its own (live.js opens a presence-only one); Pat, a supervisor, is available
    # with the dashboard open; Kim is available but has no page open at all.
    sam = await signed_in_as(live_server, await make_staff(svc, name="Sam"))
    sam_chats = await fill(svc, sam.staff)
    lee = await signed_in_as(live_server, await make_staff(svc, name="Lee"))
    pat = await signed_in_as(
        live_server, await make_staff(svc, name="Pat", role=StaffRole.SUPERVISOR)
    )
    sam_chat = await sam.socket(session_id=sam_chats[0])
    lee_page = await presence_only(lee)
    pat_dashboard = await pat.socket()
    async with sockets(sam_chat, lee_page, pat_dashboard):
        await make_staff(svc, name="Kim")
        person = await open_chat(live_server)
        await person.ask_for_a_person()
        # Kim's workspace is not open: within three heartbeats Kim is no longer on
        # duty. Sam's chat page and Lee's page keep them present all along.
        # That takes up to four heartbeats (6 s here) from Kim's sign-in: wait for it.
        await person.recv_until(
            lambda f: f["type"] == "queue" and f["counsellors_on_duty"] < 3, timeout=20
        )
        latest = queue_frames(person)[-1]
        assert latest["counsellors_on_duty"] == 2  # Sam and Lee, never Pat
        assert latest["counsellors_available"] == 1  # Lee: Sam is at the limit
        assert latest["wait_outlook"] == "shortly"
        assert latest["wait_range_s"] is None and latest["estimated_wait_s"] is None
        assert all(f["counsellors_on_duty"] <= 3 for f in queue_frames(person))
        # Asked again, the server reads the queue afresh: the same figures.
        again = (await person.ask_for_a_person())[-1]
        assert (again["counsellors_on_duty"], again["counsellors_available"]) == (2, 1)

        # Lee takes two chats too: everyone on duty is busy, a range from the claims.
        await fill(svc, lee.staff)
        busy = (
            await person.recv_until(
                lambda f: f["type"] == "queue" and f["counsellors_available"] == 0
            )
        )[-1]
        assert busy["counsellors_on_duty"] == 2 and busy["wait_outlook"] == "busy"
        low, high = busy["wait_range_s"]  # four claims in the last hour give a rate
        assert 0 <= low < high and low <= busy["estimated_wait_s"] <= high
        # The dashboard's figures are the same ones.
        dash = await frames_until(
            pat_dashboard, lambda f: f["type"] == "queue" and f["available"] == 0
        )
        assert dash[-1]["on_duty"] == 2
        await person.close()


async def test_the_crisis_reply_never_counts_a_supervisor_and_tells_busy_from_absent(
    svc: Services,
) -> None:
    # Only a supervisor is signed in and available: nobody is on duty.
    await make_staff(svc, name="Pat", role=StaffRole.SUPERVISOR)
    alone = await consented(svc)
    await run_bot(svc, session_id=alone, event=UserMessage(text=CRISIS))
    text = " ".join(await said(svc, alone))
    assert "none of our counsellors is online right now" in text
    assert "with you shortly" not in text and "with other people" not in text

    # A counsellor on duty, but full: busy, not "nobody is online".
    await fill(svc, await make_staff(svc, name="Sam"))
    busy = await consented(svc)
    await run_bot(svc, session_id=busy, event=UserMessage(text=CRISIS))
    text = " ".join(await said(svc, busy))
    assert "All our counsellors are with other people right now" in text
    assert "none of our counsellors is online" not in text
