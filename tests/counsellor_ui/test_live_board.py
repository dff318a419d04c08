"""The supervisors' live board over /counsellor/ws?board=1, on a real server.

The hub reads the board once per queue snapshot however many supervisors
watch it, every supervisor gets the rendered (escaped) board, and a
counsellor asking for it gets none. A person who has waited long for a reply
is highlighted, and no longer once the counsellor answers.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from counsellor_ui.board import board_frame
from gateway.actions.live_board import REPLY_OVERDUE_S, live_board
from gateway.actions.messages import post_counsellor_message, post_user_message
from gateway.actions.queue import claim_session
from gateway.actions.snapshot import queue_snapshot
from gateway.runtime import Runtime
from gateway.services import Services
from gateway.types import StaffRole
from tests.conftest import LiveServer
from tests.counsellor_ui.support import (
    Clock,
    frames_until,
    quiet_frames,
    signed_in_as,
    use_quick_setup,
)
from tests.factories import make_queued_session, make_staff

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


def board_showing(text: str) -> Any:
    return lambda f: f["type"] == "board" and text in f["html"]


async def test_one_board_per_change_for_every_supervisor_and_none_for_counsellors(
    live_server: LiveServer,
) -> None:
    runtime: Runtime = live_server.app.state.runtime
    svc = runtime.svc
    alex = await signed_in_as(live_server, await make_staff(svc, name="Alex", role=StaffRole.ADMIN))
    bea = await signed_in_as(
        live_server, await make_staff(svc, name="Bea", role=StaffRole.SUPERVISOR)
    )
    sam = await signed_in_as(live_server, await make_staff(svc, name="<b>Sam</b>"))
    boards = [await alex.socket(board=True), await bea.socket(board=True)]
    counsellor = await sam.socket(board=True)
    for ws in boards:
        await frames_until(ws, board_showing("Nobody is waiting."))

    chat = await make_queued_session(svc)
    await sam.post(f"/counsellor/sessions/{chat.id}/claim")
    seen = [
        (await frames_until(ws, board_showing(f'href="/counsellor/sessions/{chat.id}/watch"')))[-1]
        for ws in boards
    ]
    html = seen[0]["html"]
    assert "&lt;b&gt;Sam&lt;/b&gt;" in html and "<b>Sam</b>" not in html
    assert "Nobody is waiting." in html
    assert re.search(r"<caption>On duty</caption>", html)
    # Read once per snapshot, not once per supervisor.
    assert 0 < runtime.hub.boards <= runtime.hub.snapshots

    assert not [f for f in await quiet_frames(counsellor) if f["type"] == "board"]
    for ws in (*boards, counsellor):
        await ws.close()


async def test_a_person_waiting_long_for_a_reply_stands_out(svc: Services) -> None:
    clock = Clock()
    svc.clock = clock
    sam = await make_staff(svc, name="Sam")
    chat = await make_queued_session(svc)
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).won
    await post_counsellor_message(svc, session_id=chat.id, staff=sam, client_id="s1", text="Hi")
    clock.advance(30)
    await post_user_message(svc, session_id=chat.id, client_id="p1", text="I'm scared")
    clock.advance(REPLY_OVERDUE_S + 60)

    board = await live_board(svc, await queue_snapshot(svc))
    (row,) = board.chats
    assert row.overdue and row.awaiting_reply_s == row.person_quiet_s == REPLY_OVERDUE_S + 60
    assert row.counsellor_quiet_s == REPLY_OVERDUE_S + 90
    html = board_frame(board, None).html
    assert '<tr class="overdue">' in html and "Waiting 4 min for a reply" in html

    await post_counsellor_message(svc, session_id=chat.id, staff=sam, client_id="s2", text="Here")
    (row,) = (await live_board(svc, await queue_snapshot(svc))).chats
    assert (row.overdue, row.awaiting_reply_s, row.counsellor_quiet_s) == (False, None, 0)
