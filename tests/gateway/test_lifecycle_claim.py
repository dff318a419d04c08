"""Claims beyond the race: the capacity rule, and what someone who lost may see."""

from __future__ import annotations

import asyncio

import pytest

from gateway.actions.messages import post_user_message
from gateway.actions.queue import claim_session, take_next
from gateway.actions.snapshot import queue_snapshot
from gateway.actions.workspace import glance
from gateway.services import Services
from tests.counsellor_ui.support import use_quick_setup
from tests.factories import make_queued_session, make_staff

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def test_a_counsellor_at_capacity_cannot_claim_more_even_from_two_tabs(
    svc: Services,
) -> None:
    limit = svc.settings.counsellor_max_chats
    sam = await make_staff(svc, name="Sam")
    held = [await make_queued_session(svc) for _ in range(limit - 1)]
    for chat in held:
        assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).won
    # One place left; two tabs claim two different people at the same moment.
    a, b = await make_queued_session(svc), await make_queued_session(svc)
    results = await asyncio.gather(
        claim_session(svc, session_id=a.id, staff_id=sam.id),
        claim_session(svc, session_id=b.id, staff_id=sam.id),
    )
    assert sorted(r.won for r in results) == [False, True]
    assert [r.reason for r in results if not r.won] == ["at_capacity"]
    assert len((await queue_snapshot(svc, staff_ids={sam.id})).chats_of(sam.id)) == limit
    refused = await take_next(svc, staff_id=sam.id)
    assert refused is not None and not refused.won and refused.reason == "at_capacity"


async def test_the_counsellor_who_lost_learns_who_won_and_sees_only_the_preview(
    svc: Services,
) -> None:
    chat = await make_queued_session(svc)
    long_text = "I don't know who else to tell. " * 20
    await post_user_message(svc, session_id=chat.id, client_id="u1", text="an earlier line")
    await post_user_message(svc, session_id=chat.id, client_id="u2", text=long_text)
    sam = await make_staff(svc, name="Sam")
    jo = await make_staff(svc, name="Jo")
    won, lost = await asyncio.gather(
        claim_session(svc, session_id=chat.id, staff_id=sam.id),
        claim_session(svc, session_id=chat.id, staff_id=jo.id),
    )
    winner, loser = (won, lost) if won.won else (lost, won)
    assert loser.reason == "taken" and loser.owner_name == winner.owner_name
    seen = await glance(svc, session_id=chat.id)
    assert seen is not None and seen.owner_name == winner.owner_name
    assert seen.preview == long_text[:140]
    assert "earlier" not in seen.preview
