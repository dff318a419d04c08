"""The supervisors' live board over /counsellor/ws?board=1, on a real server.

The hub reads the board once per queue snapshot however many supervisors
watch it, every supervisor gets the same rendered (escaped) board, and a
counsellor asking for it gets none.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from gateway.runtime import Runtime
from gateway.types import StaffRole
from tests.conftest import LiveServer
from tests.counsellor_ui.support import (
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
