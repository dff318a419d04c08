"""A transfer is an offer: accepted, declined, cancelled, timed out, or withdrawn.

The chat stays with the sender, live, until the colleague accepts; only then
does it move (capacity checked again under the lock) and is the person told.
Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio

import pytest

from gateway.actions.handover import (
    accept_transfer,
    cancel_transfer,
    decline_transfer,
    due_transfer_offers,
    expire_transfer_offer,
    offer_transfer,
    pending_offers,
)
from gateway.actions.messages import post_counsellor_message
from gateway.actions.notes import notes_for
from gateway.actions.presence import mark_present
from gateway.actions.queue import claim_session, release_session
from gateway.actions.signin import sign_out, start_staff_session
from gateway.events import TransferOffer, session_channel, staff_channel
from gateway.models import Staff
from gateway.services import Services
from tests.counsellor_ui.support import (
    Clock,
    assert_gap_free,
    chat_row,
    recording,
    use_quick_setup,
)
from tests.factories import make_queued_session, make_staff

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def signed_in_staff(svc: Services, name: str) -> tuple[Staff, str]:
    """A counsellor with a current sign-in (its cookie's session id) and a fresh presence."""
    staff = await make_staff(svc, name=name)
    cookie, _csrf = await start_staff_session(svc, staff_id=staff.id)
    return staff, cookie


async def live_chat_of(svc: Services, staff: Staff) -> int:
    chat = await make_queued_session(svc)
    assert (await claim_session(svc, session_id=chat.id, staff_id=staff.id)).won
    return chat.id


def offers(events: list[object]) -> list[tuple[str, str, str]]:
    return [(e.status, e.from_name, e.to_name) for e in events if isinstance(e, TransferOffer)]


async def test_an_offer_leaves_the_chat_with_the_sender_until_it_is_accepted(
    svc: Services,
) -> None:
    sam, _ = await signed_in_staff(svc, "Sam")
    jo, _ = await signed_in_staff(svc, "Jo")
    chat_id = await live_chat_of(svc, sam)
    before = [m.text for m in await assert_gap_free(svc, chat_id)]
    channels = (staff_channel(sam.id), staff_channel(jo.id), session_channel(chat_id))
    async with recording(svc, *channels) as events:
        offered = await offer_transfer(
            svc, session_id=chat_id, from_staff=sam, to_staff_id=jo.id, note="Exam stress."
        )
    assert offered.ok and offered.to_name == "Jo"
    # Both workspaces hear of it, with the note; the person's channel hears nothing.
    (to_jo,) = events.on(staff_channel(jo.id))
    assert isinstance(to_jo, TransferOffer)
    assert (to_jo.status, to_jo.from_name, to_jo.note) == ("offered", "Sam", "Exam stress.")
    assert events.on(staff_channel(sam.id)) == [to_jo]
    assert events.on(session_channel(chat_id)) == []
    row = await chat_row(svc, chat_id)
    assert (row.state, row.counsellor_id, row.transfer_to_id) == ("live", sam.id, jo.id)
    # The person is told nothing yet.
    assert [m.text for m in await assert_gap_free(svc, chat_id)] == before
    # Sam keeps chatting meanwhile; a second offer of the same chat is refused.
    await post_counsellor_message(svc, session_id=chat_id, staff=sam, client_id="s1", text="Hi")
    again = await offer_transfer(
        svc, session_id=chat_id, from_staff=sam, to_staff_id=jo.id, note="again"
    )
    assert (again.ok, again.reason, again.to_name) == (False, "pending", "Jo")
    # The note is kept as a handover note; each side sees the open offer on opening.
    assert [(n.kind, n.text) for n in await notes_for(svc, session_id=chat_id)] == [
        ("handover", "Exam stress.")
    ]
    for staff_id in (sam.id, jo.id):
        (pending,) = await pending_offers(svc, staff_id=staff_id)
        assert (pending.session_id, pending.from_name, pending.to_name, pending.note) == (
            chat_id,
            "Sam",
            "Jo",
            "Exam stress.",
        )

    async with recording(svc, staff_channel(sam.id)) as events:
        accepted = await accept_transfer(svc, session_id=chat_id, staff=jo)
    assert accepted.ok and accepted.from_name == "Sam"
    assert offers(events.on(staff_channel(sam.id))) == [("accepted", "Sam", "Jo")]
    row = await chat_row(svc, chat_id)
    assert (row.counsellor_id, row.transfer_to_id, row.transfer_offered_at) == (jo.id, None, None)
    said = [m.text for m in await assert_gap_free(svc, chat_id)][len(before) + 1 :]
    assert "passed to another counsellor, Jo" in said[0]
    assert said[-1] == "Jo has joined the chat."
    assert await pending_offers(svc, staff_id=jo.id) == []
    assert not (await accept_transfer(svc, session_id=chat_id, staff=jo)).ok  # only once


async def test_declined_or_cancelled_offers_go_back_to_the_sender(svc: Services) -> None:
    sam, _ = await signed_in_staff(svc, "Sam")
    jo, _ = await signed_in_staff(svc, "Jo")
    kim, _ = await signed_in_staff(svc, "Kim")
    chat_id = await live_chat_of(svc, sam)
    await offer_transfer(svc, session_id=chat_id, from_staff=sam, to_staff_id=jo.id, note="n")
    assert not await decline_transfer(svc, session_id=chat_id, staff=kim)  # not Kim's offer
    async with recording(svc, staff_channel(sam.id), staff_channel(jo.id)) as events:
        assert await decline_transfer(svc, session_id=chat_id, staff=jo)
    assert offers(events.on(staff_channel(sam.id))) == [("declined", "Sam", "Jo")]
    assert offers(events.on(staff_channel(jo.id))) == [("declined", "Sam", "Jo")]
    row = await chat_row(svc, chat_id)
    assert (row.counsellor_id, row.transfer_to_id) == (sam.id, None)
    assert (await accept_transfer(svc, session_id=chat_id, staff=jo)).reason == "no_offer"

    await offer_transfer(svc, session_id=chat_id, from_staff=sam, to_staff_id=kim.id, note="n")
    assert not await cancel_transfer(svc, session_id=chat_id, staff=kim)  # only the sender
    async with recording(svc, staff_channel(kim.id)) as events:
        assert await cancel_transfer(svc, session_id=chat_id, staff=sam)
    assert offers(events.on(staff_channel(kim.id))) == [("cancelled", "Sam", "Kim")]
    assert (await accept_transfer(svc, session_id=chat_id, staff=kim)).reason == "no_offer"
    assert (await chat_row(svc, chat_id)).counsellor_id == sam.id


async def test_an_unanswered_offer_returns_after_the_timeout(svc: Services) -> None:
    clock = Clock()
    svc.clock = clock
    sam, _ = await signed_in_staff(svc, "Sam")
    jo, _ = await signed_in_staff(svc, "Jo")
    chat_id = await live_chat_of(svc, sam)
    await offer_transfer(svc, session_id=chat_id, from_staff=sam, to_staff_id=jo.id, note="n")
    clock.advance(svc.settings.transfer_timeout_s - 1)
    await mark_present(svc, session_ids=(), staff_ids={sam.id, jo.id})
    assert await due_transfer_offers(svc) == []
    clock.advance(2)
    await mark_present(svc, session_ids=(), staff_ids={sam.id, jo.id})
    assert await due_transfer_offers(svc) == [chat_id]
    async with recording(svc, staff_channel(sam.id)) as events:
        assert await expire_transfer_offer(svc, session_id=chat_id)
        assert not await expire_transfer_offer(svc, session_id=chat_id)  # fires once
    assert offers(events.on(staff_channel(sam.id))) == [("expired", "Sam", "Jo")]
    row = await chat_row(svc, chat_id)
    assert (row.state, row.counsellor_id, row.transfer_to_id) == ("live", sam.id, None)
    assert (await accept_transfer(svc, session_id=chat_id, staff=jo)).reason == "no_offer"


async def test_an_offer_to_someone_who_signs_out_returns_at_once(svc: Services) -> None:
    sam, _ = await signed_in_staff(svc, "Sam")
    jo, jos_cookie = await signed_in_staff(svc, "Jo")
    chat_id = await live_chat_of(svc, sam)
    await offer_transfer(svc, session_id=chat_id, from_staff=sam, to_staff_id=jo.id, note="n")
    assert await due_transfer_offers(svc) == []
    await sign_out(svc, session_id=jos_cookie)
    assert await due_transfer_offers(svc) == [chat_id]
    async with recording(svc, staff_channel(sam.id)) as events:
        assert await expire_transfer_offer(svc, session_id=chat_id)
    assert offers(events.on(staff_channel(sam.id))) == [("withdrawn", "Sam", "Jo")]
    assert (await chat_row(svc, chat_id)).counsellor_id == sam.id


async def test_accepting_rechecks_capacity_against_a_claim_racing_it(svc: Services) -> None:
    sam, _ = await signed_in_staff(svc, "Sam")
    jo, _ = await signed_in_staff(svc, "Jo")
    for _ in range(svc.settings.counsellor_max_chats - 1):
        await live_chat_of(svc, jo)
    chat_id = await live_chat_of(svc, sam)
    await offer_transfer(svc, session_id=chat_id, from_staff=sam, to_staff_id=jo.id, note="n")
    waiting = await make_queued_session(svc)
    # Jo's last free place: the claim and the accept race for it; exactly one wins.
    claimed, accepted = await asyncio.gather(
        claim_session(svc, session_id=waiting.id, staff_id=jo.id),
        accept_transfer(svc, session_id=chat_id, staff=jo),
    )
    assert [claimed.won, accepted.ok].count(True) == 1
    holding = [
        r.id
        for r in [await chat_row(svc, waiting.id), await chat_row(svc, chat_id)]
        if r.counsellor_id == jo.id
    ]
    assert len(holding) == 1
    if not accepted.ok:
        assert accepted.reason == "at_capacity"
        # Still Sam's and still offered: Jo can end a chat and accept, or decline.
        row = await chat_row(svc, chat_id)
        assert (row.counsellor_id, row.transfer_to_id) == (sam.id, jo.id)


async def test_a_chat_released_meanwhile_cannot_be_accepted(svc: Services) -> None:
    sam, _ = await signed_in_staff(svc, "Sam")
    jo, _ = await signed_in_staff(svc, "Jo")
    kim, _ = await signed_in_staff(svc, "Kim")
    chat_id = await live_chat_of(svc, sam)
    await offer_transfer(svc, session_id=chat_id, from_staff=sam, to_staff_id=jo.id, note="n")
    assert await release_session(svc, session_id=chat_id, staff_id=sam.id)
    assert (await claim_session(svc, session_id=chat_id, staff_id=kim.id)).won
    assert (await accept_transfer(svc, session_id=chat_id, staff=jo)).reason == "no_offer"
    assert (await chat_row(svc, chat_id)).counsellor_id == kim.id
    assert await due_transfer_offers(svc) == [chat_id]  # tidied away by the timer
    assert await expire_transfer_offer(svc, session_id=chat_id)
