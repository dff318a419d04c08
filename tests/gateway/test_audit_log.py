"""The audit log: one line per claim, release, transfer step, end and transcript view,
written in the same transaction as the change, never holding text anyone wrote; and
the database itself refuses to change or delete a line. SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from gateway.actions.audit import record_views
from gateway.actions.handover import (
    accept_transfer,
    cancel_transfer,
    decline_transfer,
    expire_transfer_offer,
    hand_back_to_bot,
    offer_transfer,
)
from gateway.actions.presence import mark_present
from gateway.actions.queue import claim_session, release_session, take_next
from gateway.actions.signin import sign_out, start_staff_session
from gateway.actions.supervision import record_watch, take_over
from gateway.actions.timers import return_dropped_chat
from gateway.actions.wrapup import check_wrapup, end_session
from gateway.models import AuditEvent, Staff
from gateway.services import Services
from gateway.types import StaffRole
from tests.counsellor_ui.support import Clock, chat_row, use_quick_setup
from tests.factories import make_queued_session, make_staff

pytestmark = pytest.mark.asyncio

Line = tuple[int | None, str, int | None, str | None]


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def lines(svc: Services) -> list[Line]:
    """The lines about chats (account lines, from creating the staff, are not these tests')."""
    async with svc.read() as session:
        rows = await session.execute(
            select(AuditEvent).where(AuditEvent.session_id.is_not(None)).order_by(AuditEvent.id)
        )
        return [(a.staff_id, a.action, a.session_id, a.detail) for a in rows.scalars()]


async def signed_in_staff(
    svc: Services, name: str, role: StaffRole = StaffRole.COUNSELLOR
) -> Staff:
    staff = await make_staff(svc, name=name, role=role)
    await start_staff_session(svc, staff_id=staff.id)
    return staff


async def test_claims_and_releases_are_recorded_once_each(svc: Services) -> None:
    sam = await make_staff(svc, name="Sam")
    jo = await make_staff(svc, name="Jo")
    first = await make_queued_session(svc)
    second = await make_queued_session(svc)

    # Five racing claims: one winner, one line; the losers' transactions write nothing.
    racers = [sam, jo, sam, jo, sam]
    results = await asyncio.gather(
        *(claim_session(svc, session_id=first.id, staff_id=s.id) for s in racers)
    )
    (winner,) = [s for s, r in zip(racers, results, strict=True) if r.won]
    assert await lines(svc) == [(winner.id, "claim", first.id, None)]

    other = jo if winner is sam else sam
    taken = await take_next(svc, staff_id=other.id)
    assert taken is not None and taken.session_id == second.id
    assert not await release_session(svc, session_id=second.id, staff_id=winner.id)  # not theirs
    assert await release_session(svc, session_id=second.id, staff_id=other.id)
    turn = await hand_back_to_bot(svc, session_id=first.id, staff=winner)
    assert turn is not None
    assert (await lines(svc))[1:] == [
        (other.id, "claim", second.id, "take next"),
        (other.id, "release", second.id, "released by the counsellor"),
        (winner.id, "release", first.id, "handed back to the bot"),
    ]


async def test_a_dropped_workspace_and_a_sign_out_return_chats_on_the_record(
    svc: Services,
) -> None:
    clock = Clock()
    svc.clock = clock
    sam = await make_staff(svc, name="Sam")
    jo = await make_staff(svc, name="Jo")
    dropped = await make_queued_session(svc)
    held = await make_queued_session(svc)
    assert (await claim_session(svc, session_id=dropped.id, staff_id=sam.id)).won
    jos_cookie, _ = await start_staff_session(svc, staff_id=jo.id)
    assert (await claim_session(svc, session_id=held.id, staff_id=jo.id)).won
    await mark_present(svc, session_ids=(), staff_ids={jo.id})

    clock.advance(svc.settings.counsellor_grace_s + 1)
    await mark_present(svc, session_ids=(), staff_ids={jo.id})
    assert await return_dropped_chat(svc, session_id=dropped.id)
    await sign_out(svc, session_id=jos_cookie)

    returned = [line for line in await lines(svc) if line[1] == "release"]
    # The lost workspace's line names whose it was (Sam), like a sign-out's.
    assert returned == [
        (
            sam.id,
            "release",
            dropped.id,
            "the counsellor's workspace was gone past the grace period",
        ),
        (jo.id, "release", held.id, "signed out or deactivated: every chat returned"),
    ]


async def test_each_step_of_a_transfer_is_recorded(svc: Services) -> None:
    clock = Clock()
    svc.clock = clock
    sam = await signed_in_staff(svc, "Sam")
    jo = await signed_in_staff(svc, "Jo")
    chat = await make_queued_session(svc)
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).won
    note = "HANDOVER-NOTE-TEXT"

    async def offer() -> None:
        result = await offer_transfer(
            svc, session_id=chat.id, from_staff=sam, to_staff_id=jo.id, note=note
        )
        assert result.ok

    await offer()
    assert await decline_transfer(svc, session_id=chat.id, staff=jo)
    await offer()
    assert await cancel_transfer(svc, session_id=chat.id, staff=sam)
    await offer()
    clock.advance(svc.settings.transfer_timeout_s + 1)
    await mark_present(svc, session_ids=(), staff_ids={sam.id, jo.id})
    assert await expire_transfer_offer(svc, session_id=chat.id)
    await offer()
    assert (await accept_transfer(svc, session_id=chat.id, staff=jo)).ok

    assert (await lines(svc))[1:] == [
        (sam.id, "transfer_offer", chat.id, "to Jo"),
        (jo.id, "transfer_decline", chat.id, None),
        (sam.id, "transfer_offer", chat.id, "to Jo"),
        (sam.id, "transfer_cancel", chat.id, None),
        (sam.id, "transfer_offer", chat.id, "to Jo"),
        (None, "transfer_expire", chat.id, "offer to Jo unanswered in time"),
        (sam.id, "transfer_offer", chat.id, "to Jo"),
        (jo.id, "transfer_accept", chat.id, "from Sam"),
    ]
    assert all(note not in (line[3] or "") for line in await lines(svc))


async def test_an_end_records_outcomes_and_risk_never_the_notes(svc: Services) -> None:
    sam = await make_staff(svc, name="Sam")
    chat = await make_queued_session(svc)
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).won
    outcomes = svc.settings.wrapup_outcomes[:2]
    form = check_wrapup(svc, outcomes=outcomes, risk_level="low", notes="NOTES-NEVER-AUDITED")

    assert (await end_session(svc, session_id=chat.id, staff_id=sam.id, wrap_up=form)).done
    again = await end_session(svc, session_id=chat.id, staff_id=sam.id, wrap_up=form)
    assert again.outcome == "already"  # refused: no second line

    (end,) = [line for line in await lines(svc) if line[1] == "end"]
    assert end == (sam.id, "end", chat.id, "ended; risk low; " + ", ".join(outcomes))


async def test_the_holder_is_recorded_once_per_holding_others_every_time(svc: Services) -> None:
    sam = await make_staff(svc, name="Sam")
    alex = await make_staff(svc, name="Alex", role=StaffRole.SUPERVISOR)
    chat = await make_queued_session(svc)
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).won

    async def views_of(staff: Staff) -> list[int]:
        return await record_views(svc, staff_id=staff.id, chats=[await chat_row(svc, chat.id)])

    assert await views_of(sam) == [chat.id]  # the first view after the claim
    assert await views_of(sam) == []  # the page reloading after a note, a notice...
    await record_watch(svc, session_id=chat.id, staff=alex)
    await record_watch(svc, session_id=chat.id, staff=alex)  # every watch
    await take_over(svc, session_id=chat.id, staff=alex)
    assert await views_of(alex) == [chat.id]  # a new holding: recorded again
    assert await views_of(alex) == []
    await release_session(svc, session_id=chat.id, staff_id=alex.id)
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).won
    assert await views_of(sam) == [chat.id]
    form = check_wrapup(svc, outcomes=svc.settings.wrapup_outcomes[:1], risk_level="none", notes="")
    await end_session(svc, session_id=chat.id, staff_id=sam.id, wrap_up=form)
    assert await views_of(sam) == [chat.id]  # an ended chat reopened: every time
    assert await views_of(sam) == [chat.id]

    assert [(s, a) for s, a, _, _ in await lines(svc)] == [
        (sam.id, "claim"),
        (sam.id, "view_transcript"),
        (alex.id, "watch"),
        (alex.id, "watch"),
        (alex.id, "take_over"),
        (alex.id, "view_transcript"),
        (alex.id, "release"),
        (sam.id, "claim"),
        (sam.id, "view_transcript"),
        (sam.id, "end"),
        (sam.id, "view_transcript"),
        (sam.id, "view_transcript"),
    ]


async def change_by_orm(svc: Services, *, delete: bool) -> None:
    async with svc.transaction() as tx:
        for line in (await tx.session.execute(select(AuditEvent))).scalars():
            if delete:
                await tx.session.delete(line)
            else:
                line.detail = "rewritten"


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET detail = 'rewritten'", "DELETE FROM audit_events"],
)
async def test_the_database_refuses_to_change_or_delete_a_line(
    svc: Services, statement: str
) -> None:
    sam = await make_staff(svc, name="Sam")
    chat = await make_queued_session(svc)
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).won
    before = await lines(svc)
    assert before == [(sam.id, "claim", chat.id, None)]

    with pytest.raises(DBAPIError, match="append-only"):
        async with svc.transaction() as tx:
            await tx.session.execute(text(statement))
    with pytest.raises(DBAPIError, match="append-only"):  # through the ORM too
        await change_by_orm(svc, delete=statement.startswith("DELETE"))
    assert await lines(svc) == before
