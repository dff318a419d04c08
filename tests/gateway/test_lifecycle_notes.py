"""Private notes and canned responses: who may keep them, and that the person never sees notes."""

from __future__ import annotations

import pytest

from gateway.actions.canned import CannedError, delete_canned, list_canned, save_canned
from gateway.actions.handover import accept_transfer, offer_transfer
from gateway.actions.notes import NoteError, add_note, notes_for
from gateway.actions.queue import claim_session
from gateway.events import session_channel
from gateway.services import Services
from gateway.types import StaffRole
from tests.counsellor_ui.support import recording, transcript, use_quick_setup
from tests.factories import make_queued_session, make_staff

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def test_notes_stay_private_and_follow_the_chat_to_a_new_counsellor(
    svc: Services,
) -> None:
    chat = await make_queued_session(svc)
    sam = await make_staff(svc, name="Sam")
    jo = await make_staff(svc, name="Jo")
    await claim_session(svc, session_id=chat.id, staff_id=sam.id)
    before = [(m.seq, m.text) for m in await transcript(svc, chat.id)]
    async with recording(svc, session_channel(chat.id)) as events:
        await add_note(svc, session_id=chat.id, staff=sam, text="Mentions a sister nearby.")
    assert events.events == []  # nothing about a note reaches the person's channel
    assert [(m.seq, m.text) for m in await transcript(svc, chat.id)] == before
    with pytest.raises(NoteError):
        await add_note(svc, session_id=chat.id, staff=sam, text="   ")
    with pytest.raises(PermissionError):
        await add_note(svc, session_id=chat.id, staff=jo, text="not my chat")

    await offer_transfer(
        svc, session_id=chat.id, from_staff=sam, to_staff_id=jo.id, note="Calmer now."
    )
    assert (await accept_transfer(svc, session_id=chat.id, staff=jo)).ok
    await add_note(svc, session_id=chat.id, staff=jo, text="Agreed to call her GP.")
    notes = await notes_for(svc, session_id=chat.id)
    assert [(n.kind, n.author, n.text) for n in notes] == [
        ("note", "Sam", "Mentions a sister nearby."),
        ("handover", "Sam", "Calmer now."),
        ("note", "Jo", "Agreed to call her GP."),
    ]
    texts = " ".join(m.text for m in await transcript(svc, chat.id))
    assert "sister" not in texts and "Calmer now" not in texts and "GP" not in texts


async def test_canned_responses_are_kept_by_supervisors_only(svc: Services) -> None:
    sam = await make_staff(svc, name="Sam")
    lead = await make_staff(svc, name="Lead", role=StaffRole.SUPERVISOR)
    with pytest.raises(PermissionError):
        await save_canned(svc, staff=sam, title="Hello", body="Hi, I'm here.")
    with pytest.raises(CannedError, match="title"):
        await save_canned(svc, staff=lead, title=" ", body="Hi")
    saved = await save_canned(svc, staff=lead, title="Hello", body="Hi, I'm {name}.")
    await save_canned(
        svc, staff=lead, canned_id=saved.id, title="Greeting", body="Hi, I'm here with you."
    )
    (only,) = await list_canned(svc)
    assert (only.title, only.body, only.updated_by) == (
        "Greeting",
        "Hi, I'm here with you.",
        lead.id,
    )
    with pytest.raises(PermissionError):
        await delete_canned(svc, staff=sam, canned_id=saved.id)
    await delete_canned(svc, staff=lead, canned_id=saved.id)
    assert await list_canned(svc) == []
