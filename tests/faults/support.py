"""What the fault and abuse tests share: a person at the widget, a claim, the rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from gateway.actions.queue import ordered_queue
from gateway.models import ChatSession, SessionNote, WrapUp
from gateway.security import hash_token
from gateway.services import Services
from tests.chat_client import ChatClient, is_type
from tests.conftest import LiveServer
from tests.counsellor_ui.support import Browserless, signed_in_as
from tests.factories import make_staff


def services(server: LiveServer) -> Services:
    svc: Services = server.app.state.runtime.svc
    return svc


async def person_waiting(
    server: LiveServer, first_words: str | None = None, **connect: Any
) -> tuple[ChatClient, int]:
    """A person on the widget who (optionally says something and) asks for a counsellor."""
    person = await ChatClient.open(server.ws, server.origin, **connect)
    await person.hello()
    # Generous waits: the first chat of a test process waits for the bot's scripts.
    await person.recv_until(is_type("message"), timeout=30)
    if first_words is not None:
        await person.say(first_words)
        await person.recv_until(is_type("ack"), timeout=30)
    await person.ask_for_a_person(timeout=30)
    session_id = await session_of(services(server), person)
    assert session_id in {c.id for c in await ordered_queue(services(server))}
    return person, session_id


async def session_of(svc: Services, person: ChatClient) -> int:
    """The session a widget client holds, found by its token's hash as the gateway does."""
    assert person.token is not None
    async with svc.read() as session:
        found = await session.scalar(
            select(ChatSession.id).where(ChatSession.token_hash == hash_token(person.token))
        )
    assert found is not None
    return int(found)


async def claim(counsellor: Browserless, session_id: int) -> None:
    response = await counsellor.post(f"/counsellor/sessions/{session_id}/claim")
    assert response.headers["location"] == f"/counsellor/sessions/{session_id}"


async def end_chat(counsellor: Browserless, session_id: int, notes: str = "") -> None:
    """End a chat the counsellor holds, with a complete wrap-up."""
    done = await counsellor.post(
        f"/counsellor/sessions/{session_id}/end",
        outcome=counsellor.svc.settings.wrapup_outcomes[0],
        risk_level="low",
        notes=notes,
    )
    assert done.status_code == 303, done.text


async def live_with_sam(server: LiveServer) -> tuple[Browserless, ChatClient, int, int]:
    """Sam, a person live with Sam, the session, and the highest seq the person has seen."""
    sam = await signed_in_as(server, await make_staff(services(server), name="Sam"))
    person, session_id = await person_waiting(server)
    await claim(sam, session_id)
    await person.recv_until(lambda f: f["type"] == "state" and f["state"] == "live", timeout=30)
    seen = max(f["seq"] for f in person.seen if "seq" in f)
    return sam, person, session_id, seen


async def footprint(svc: Services, session_id: int) -> tuple[Any, ...]:
    """Everything a refused request must leave as it was: state, owner, lines, notes."""
    async with svc.read() as session:
        chat = await session.get(ChatSession, session_id)
        assert chat is not None
        notes = await session.scalar(
            select(func.count()).select_from(SessionNote).where(SessionNote.session_id == chat.id)
        )
        wrapped = await session.scalar(
            select(func.count()).select_from(WrapUp).where(WrapUp.session_id == chat.id)
        )
        return (chat.state, chat.counsellor_id, chat.last_seq, chat.transfer_to_id, notes, wrapped)
