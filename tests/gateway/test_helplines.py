"""Safety information through the gateway: crisis replies that fit the service's real
state and go out at once, tap-to-call links on message frames (live and on resume),
the helplines at every ending in the person's language, and a declined consent
that keeps nothing and says so."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot_engine import BotEngine, SessionEvent, UserMessage
from gateway.actions.bot import run_bot
from gateway.actions.messages import messages_after
from gateway.actions.queue import claim_session, escalate
from gateway.actions.records import lock_session
from gateway.actions.sessions import leave_session
from gateway.actions.wrapup import check_wrapup, end_session
from gateway.app import build_bot
from gateway.services import Services
from gateway.types import Priority, SessionState
from tests.chat_client import ChatClient, Frame, is_type
from tests.conftest import LiveServer
from tests.factories import make_queued_session, make_session, make_staff
from tests.gateway.test_protocol_support import close_code, open_chat

pytestmark = pytest.mark.asyncio
TYPING_OFF = {"type": "typing", "from": "bot", "on": False}
CRISIS = "I want to end my life"


def bot_messages(frames: list[Frame]) -> list[Frame]:
    return [f for f in frames if f["type"] == "message" and f["from"] == "bot"]


async def consented(svc: Services, *, locale: str = "en") -> int:
    session = await make_session(svc, locale=locale)
    await run_bot(svc, session_id=session.id, event=SessionEvent(kind="started"))
    await run_bot(svc, session_id=session.id, event=UserMessage(text="", value="yes"))
    return session.id


async def said(svc: Services, session_id: int, after: int = 0) -> list[str]:
    lines = await messages_after(svc, session_id=session_id, after_seq=after, limit=100)
    return [line.text for line in lines]


# ------------------------------------------------------------------ the service's real state


async def test_the_crisis_reply_fits_the_counsellors_on_duty(svc: Services) -> None:
    # Nobody on duty: said plainly, numbers first, no promise.
    nobody = await consented(svc)
    await run_bot(svc, session_id=nobody, event=UserMessage(text=CRISIS))
    text = " ".join(await said(svc, nobody))
    assert "none of our counsellors is online right now" in text
    assert "with you shortly" not in text

    # On duty, and a place free: a counsellor will be with them shortly.
    sam = await make_staff(svc, name="Sam")
    free = await consented(svc)
    await run_bot(svc, session_id=free, event=UserMessage(text=CRISIS))
    assert "A counsellor will be with you shortly" in " ".join(await said(svc, free))

    # On duty, but every place taken (two live chats each): busy, the place, the numbers.
    for _ in range(svc.settings.counsellor_max_chats):
        waiting = await make_queued_session(svc)
        assert (await claim_session(svc, session_id=waiting.id, staff_id=sam.id)).won
    busy = await consented(svc)
    await run_bot(svc, session_id=busy, event=UserMessage(text=CRISIS))
    text = " ".join(await said(svc, busy))
    assert "All our counsellors are with other people right now" in text
    assert "your place" in text and "with you shortly" not in text

    # A request for a person is not promised one either.
    asked = await consented(svc)
    await run_bot(svc, session_id=asked, event=UserMessage(text="!counsellor"))
    assert "none of our counsellors is free right now" in " ".join(await said(svc, asked))
    assert (await chat_state(svc, asked)) == SessionState.BOT


async def chat_state(svc: Services, session_id: int) -> SessionState:
    async with svc.transaction() as tx:
        return SessionState((await lock_session(tx, session_id)).state)


async def test_a_crisis_waiting_ahead_takes_the_last_place(svc: Services) -> None:
    await make_staff(svc, name="Jo")
    for _ in range(svc.settings.counsellor_max_chats):
        await make_queued_session(svc, priority=Priority.CRISIS, reason="crisis:test")
    later = await consented(svc)
    await run_bot(svc, session_id=later, event=UserMessage(text=CRISIS))
    assert "All our counsellors are with other people" in " ".join(await said(svc, later))


async def test_crisis_replies_are_stored_for_delivery_without_typing_pauses(
    svc: Services,
) -> None:
    typing = replace(svc.settings, bot_typing_cps=30.0, bot_typing_min_s=0.6, bot_typing_max_s=3.0)
    slow = replace(svc, settings=typing, bot=build_bot(typing))
    session = await make_session(slow)
    greeting = await run_bot(slow, session_id=session.id, event=SessionEvent(kind="started"))
    assert greeting.delays and all(d > 0 for d in greeting.delays.values())
    crisis = await run_bot(slow, session_id=session.id, event=UserMessage(text=CRISIS))
    assert len(crisis.delays) >= 3 and all(d == 0 for d in crisis.delays.values())


# ------------------------------------------------------------------ links on message frames


async def test_crisis_messages_carry_tap_to_call_links_live_and_on_resume(
    live_server: LiveServer,
) -> None:
    client = await open_chat(live_server)
    await client.recv_until(lambda f: f == TYPING_OFF)
    await client.say(CRISIS)
    # The last message of the reply says the chat is kept (no consent was given yet).
    await client.recv_until(lambda f: "we keep this conversation" in f.get("text", ""))
    if not any(f["type"] == "queue" for f in client.seen):
        await client.recv_until(is_type("queue"))
    live = bot_messages(client.seen)
    crisis = [f for f in live if f["seq"] > 3]
    assert crisis
    for frame in live:
        for number, link in [
            ("999", {"label": "Call 999", "href": "tel:999"}),
            ("116 123", {"label": "Call Samaritans", "href": "tel:116123"}),
            ("85258", {"label": "Text SHOUT", "href": "sms:85258?body=SHOUT"}),
        ]:
            if number in frame["text"]:
                assert link in frame["links"], frame
        for link in frame.get("links", []):
            assert link["href"].startswith(("tel:", "sms:"))
    assert any("links" in f for f in crisis)
    assert all(
        "links" not in f for f in client.seen if f["type"] == "message" and f["from"] == "user"
    )

    # History sent again on resume has the same links (nothing about them is stored).
    again = await open_chat(live_server, token=client.token, last_seq=0)
    resent = await again.recv_until(is_type("queue"))
    assert bot_messages(resent) == live
    await client.close()
    await again.close()


async def test_links_are_in_the_sessions_language(live_server: LiveServer) -> None:
    client = await open_chat(live_server, locale="cy")
    frames = await client.recv_until(lambda f: f == TYPING_OFF)
    greeting = bot_messages(frames)[-1]
    assert "ffonia 999" in greeting["text"]
    assert greeting["links"] == [{"label": "Ffonio 999", "href": "tel:999"}]
    await client.close()


# ------------------------------------------------------------------ endings


async def test_declining_keeps_nothing_and_offers_nothing_to_delete(
    live_server: LiveServer,
) -> None:
    client = await open_chat(live_server)
    await client.recv_until(lambda f: f == TYPING_OFF)
    await client.say("no")
    frames = await client.recv_until(lambda f: f["type"] == "state")
    assert frames[-1] == {"type": "state", "state": "closed", "counsellor": None, "kept": False}
    goodbye = bot_messages(frames)
    assert "116 123" in " ".join(f["text"] for f in goodbye)
    assert any(
        {"label": "Call Samaritans", "href": "tel:116123"} in f.get("links", []) for f in goodbye
    )
    await client.close()
    # Nothing was kept: the token resumes nothing.
    again = await ChatClient.open(live_server.ws, live_server.origin)
    await again.send({"type": "hello", "v": 1, "token": client.token, "last_seq": 0})
    assert (await again.recv())["code"] == "unknown_token"
    assert await close_code(again) == 4404


async def test_a_person_who_leaves_the_bot_is_given_the_helplines(live_server: LiveServer) -> None:
    client = await open_chat(live_server, locale="cy")
    await client.recv_until(lambda f: f == TYPING_OFF)
    await client.send({"type": "leave"})
    assert await close_code(client) == 1000
    notice = [f for f in client.seen if f["type"] == "message"][-1]
    assert notice["from"] == "system"
    assert "Rwyt ti wedi gorffen y sgwrs" in notice["text"]
    assert "0808 164 0123, bob dydd rhwng 7 yr hwyr ac 11 y nos" in notice["text"]
    assert {"label": "Ffonio'r Llinell Gymraeg", "href": "tel:08081640123"} in notice["links"]


async def test_every_ending_gives_the_helplines_in_the_persons_language(svc: Services) -> None:
    sam = await make_staff(svc, name="Sam")
    welsh = await make_session(svc, locale="cy")
    async with svc.transaction() as tx:
        chat = await lock_session(tx, welsh.id)
        await escalate(tx, chat, priority=Priority.REQUESTED, reason="request:button")
    assert (await claim_session(svc, session_id=welsh.id, staff_id=sam.id)).won
    form = check_wrapup(svc, outcomes=svc.settings.wrapup_outcomes[:1], risk_level="none", notes="")
    assert (await end_session(svc, session_id=welsh.id, staff_id=sam.id, wrap_up=form)).done
    ended = (await said(svc, welsh.id))[-1]
    assert ended.startswith("Mae'r cwnselydd wedi gorffen y sgwrs")
    assert "116 123" in ended and "bob dydd rhwng 7 yr hwyr ac 11 y nos" in ended

    english = await make_queued_session(svc)
    left = await leave_session(svc, session_id=english.id)
    assert left.state == SessionState.ABANDONED
    lines = await said(svc, english.id)
    assert lines[left.notice_seq - 1].startswith("You've ended the chat")
    assert "116 123" in lines[-1] and "85258" in lines[-1]

    live = await make_queued_session(svc)
    assert (await claim_session(svc, session_id=live.id, staff_id=sam.id)).won
    left = await leave_session(svc, session_id=live.id)
    lines = await said(svc, live.id)
    assert "999" in lines[left.notice_seq - 1]
    # The notice is the last line: nothing follows that the person may not be sent again.
    assert left.notice_seq == len(lines)


async def test_a_script_without_notices_still_gives_the_helplines(svc: Services) -> None:
    # A deployment's older script: the gateway's own words, then the resource directory.
    specials = {k: v for k, v in svc.bot.script.specials.items() if k != "ended_by_counsellor"}
    script = replace(svc.bot.script, specials=specials)
    older = replace(svc, bot=BotEngine(script, svc.bot._views, svc.bot.config))
    sam = await make_staff(older, name="Sam")
    waiting = await make_queued_session(older)
    assert (await claim_session(older, session_id=waiting.id, staff_id=sam.id)).won
    form = check_wrapup(
        older, outcomes=older.settings.wrapup_outcomes[:1], risk_level="none", notes=""
    )
    await end_session(older, session_id=waiting.id, staff_id=sam.id, wrap_up=form)
    last = (await said(older, waiting.id))[-1]
    assert last.startswith("The counsellor has ended the chat.")
    assert "Samaritans: call 116 123" in last
