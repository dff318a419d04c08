"""PROTOCOL.md semantics 6-10 over a real server, on SQLite and PostgreSQL.

6 several connections, 7 bot typing, 8 bad input, 9 who speaks, 10 never a dead end.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from bot_engine import Context, Reply, SessionEvent, UserMessage
from gateway.actions.messages import messages_after
from gateway.actions.queue import claim_session
from gateway.settings import Settings
from tests.chat_client import Frame, is_ack, is_type
from tests.conftest import LiveServer
from tests.factories import make_staff
from tests.gateway.test_protocol_support import (
    chat_row,
    close_code,
    greeted_chat,
    is_bot_message,
    open_chat,
    queued_chat,
    serve,
    services_of,
    stored_messages,
)

pytestmark = pytest.mark.asyncio
TYPING_OFF = {"type": "typing", "from": "bot", "on": False}


@pytest_asyncio.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    async with serve(settings) as running:
        yield running


async def test_6_every_connection_of_a_session_gets_every_message(server: LiveServer) -> None:
    first = await greeted_chat(server)
    last_seq = max(f["seq"] for f in first.seen if f["type"] == "message")
    second = await open_chat(server, token=first.token, last_seq=last_seq)

    cid = await first.say("hello from the phone")
    on_first = await first.recv_until(lambda f: f == TYPING_OFF)
    on_second = await second.recv_until(lambda f: f == TYPING_OFF)
    ack = on_first[0]
    assert ack == {"type": "ack", "client_id": cid, "seq": last_seq + 1}
    assert not [f for f in on_first if f["type"] == "message" and f.get("client_id") == cid]
    echo = on_second[0]
    assert echo["type"] == "message" and echo["from"] == "user"
    assert (echo["seq"], echo["client_id"], echo["text"]) == (
        ack["seq"],
        cid,
        "hello from the phone",
    )
    replies = [f["seq"] for f in on_first if is_bot_message(f)]
    assert replies and replies == [f["seq"] for f in on_second if is_bot_message(f)]

    cid = await second.say("and from the laptop")
    assert (await second.recv_until(is_ack(cid)))[-1]["seq"] == replies[-1] + 1
    echo = (await first.recv_until(is_type("message")))[-1]
    assert echo["client_id"] == cid and echo["seq"] == replies[-1] + 1
    for client in (first, second):
        await client.recv_until(lambda f: f == TYPING_OFF)

    # A client whose view is ahead of the server's gets the whole transcript again.
    ahead = await open_chat(server, token=first.token, last_seq=10_000)
    assert ahead.welcome is not None
    stored = ahead.welcome["last_seq"]
    replay = await ahead.recv_until(lambda f: f.get("seq") == stored)
    assert [f["seq"] for f in replay] == list(range(1, stored + 1))
    for client in (first, second, ahead):
        await client.close()


async def test_7_the_bot_types_before_each_message(server: LiveServer) -> None:
    client = await greeted_chat(server)
    for text in ("hello", "I feel anxious", "!mood"):
        cid = await client.say(text)
        await client.recv_until(is_ack(cid))
        await client.recv_until(lambda f: f == TYPING_OFF)
    flow = [f for f in client.seen if f["type"] in ("typing", "message")]
    bot_messages = [i for i, f in enumerate(flow) if is_bot_message(f)]
    assert len(bot_messages) >= 4
    for index in bot_messages:
        assert flow[index - 1] == {"type": "typing", "from": "bot", "on": True}
    assert flow[-1] == TYPING_OFF
    await client.close()


async def test_8_bad_input_is_answered_and_abuse_and_floods_are_stopped(
    settings: Settings,
) -> None:
    # Small limits, so that the abuse rules are reached in a few frames.
    async with serve(settings, rate_limit_messages=5, max_bad_frames=6) as server:
        await _bad_input(server, settings)


async def _bad_input(server: LiveServer, settings: Settings) -> None:
    client = await greeted_chat(server)
    bad = [
        "{not json",
        json.dumps({"type": "shout", "text": "hi"}),  # unknown type
        json.dumps({"type": "say", "text": "hi"}),  # missing client_id
        json.dumps({"type": "say", "client_id": 7, "text": "hi"}),  # wrong type
        json.dumps({"type": "typing", "on": True, "extra": 1}),  # unknown field
    ]
    for raw in bad:
        await client.send_raw(raw)
        # The bot may still be answering the last probe: its frames can come first.
        error = (await client.recv_until(is_type("error")))[-1]
        assert error["code"] == "bad_frame", raw
        assert error["message"] and "detail" in error
        cid = await client.say("still there?")  # the connection stays usable
        await client.recv_until(is_ack(cid))
    await client.close()

    # Repeated abuse closes the connection with 4429.
    abuser = await greeted_chat(server)
    for _ in range(7):
        await abuser.send_raw("[]")
    assert await close_code(abuser) == 4429

    # Over the message rate: rate_limited with the client_id, and nothing stored.
    flood = await greeted_chat(server)
    ids = [await flood.say(f"message {n}") for n in range(8)]
    answers = await flood.recv_until(lambda f: f.get("client_id") == ids[-1] and "seq" not in f)
    acked = [f["client_id"] for f in answers if f["type"] == "ack"]
    limited = [f["client_id"] for f in answers if f.get("code") == "rate_limited"]
    assert (acked, limited) == (ids[:5], ids[5:])
    assert flood.token is not None
    session_id = (await chat_row(settings.database_url, flood.token)).id
    rows = await stored_messages(settings.database_url, session_id)
    assert [m.client_id for m in rows if m.sender == "user"] == acked
    await flood.close()


async def test_9_the_bot_is_silent_while_queued_or_live_whatever_the_client_sends(
    server: LiveServer, settings: Settings
) -> None:
    svc = services_of(server)
    staff = await make_staff(svc, name="Sam")
    client, session_id = await queued_chat(server)
    await client.recv_until(is_type("queue"))
    tries = [("I feel anxious", "anxious"), ("menu", "menu"), ("!mood", None), ("hi", "yes")]

    async def say_all() -> list[Frame]:
        got: list[Frame] = []
        for text, value in tries:
            cid = await client.say(text, value=value)
            got += await client.recv_until(is_ack(cid))
        return got + await client.quiet(0.3)

    assert not [f for f in await say_all() if is_bot_message(f) or f["type"] == "typing"]
    await client.send({"type": "ask_counsellor"})  # already waiting: told the position again
    assert (await client.recv())["type"] == "queue"
    # Stored while queued, and shown to the counsellor who claims.
    assert (await claim_session(svc, session_id=session_id, staff_id=staff.id)).won
    await client.recv_until(lambda f: f["type"] == "state" and f["state"] == "live")
    seen_by_counsellor = [line.text for line in await messages_after(svc, session_id=session_id)]
    assert [text for text, _ in tries] == [t for t in seen_by_counsellor if t in dict(tries)]

    assert not [f for f in await say_all() if is_bot_message(f) or f["type"] == "typing"]
    await client.send({"type": "ask_counsellor"})
    assert (await client.recv())["code"] == "not_now"
    rows = await stored_messages(settings.database_url, session_id)
    assert not [m for m in rows if m.sender == "bot"]
    await client.close()


async def test_10_every_bot_turn_offers_a_next_step_and_the_queue_is_no_dead_end(
    server: LiveServer, settings: Settings
) -> None:
    # The engine is pure: run it in step with the server to know which replies invite text.
    svc = services_of(server)
    engine = svc.bot
    state = engine.new_state("en")
    now, context = datetime.now(UTC), Context(counsellors_available=0)
    client = await open_chat(server)
    inputs: list[UserMessage | SessionEvent] = [SessionEvent(kind="started")]
    typed = iter(["I don't know", "I feel anxious", "tired", "what is this?"])
    for turn in range(8):
        result = engine.step(state, inputs[-1], now, context)
        state = result.state
        replies = [o for o in result.outputs if isinstance(o, Reply)]
        assert replies, f"the bot said nothing after {inputs[-1]}"
        frames = await client.recv_until(lambda f: f == TYPING_OFF)
        on_wire = [f for f in frames if is_bot_message(f)]
        assert [f["text"] for f in on_wire] == [r.text for r in replies]
        last_reply, last_frame = replies[-1], on_wire[-1]
        assert last_frame.get("quick_replies") or last_reply.invites_text, last_reply
        if any(f["type"] == "state" for f in frames):
            break  # queued or ended: the bot's part is over
        choices = [q for q in last_frame.get("quick_replies", []) if q["value"] != "no"]
        if turn % 2 == 0 and choices:
            pick = choices[turn % len(choices)]
            inputs.append(UserMessage(text=pick["label"], value=pick["value"]))
        else:
            inputs.append(UserMessage(text=next(typed, "okay")))
        message = inputs[-1]
        assert isinstance(message, UserMessage)
        cid = await client.say(message.text, value=message.value)
        await client.recv_until(is_ack(cid))
    assert len(inputs) > 4  # a walk through several of the script's nodes
    await client.close()

    # Waiting: the person sees their position and helplines, and can leave.
    await make_staff(svc)
    waiting, _ = await queued_chat(server)
    queue = (await waiting.recv_until(is_type("queue")))[-1]
    assert queue["position"] == 1 and queue["counsellors_available"] >= 0
    assert any("116 123" in line for line in queue["alternatives"])
    await waiting.send({"type": "leave"})
    assert await close_code(waiting) == 1000
    assert waiting.token is not None
    assert (await chat_row(settings.database_url, waiting.token)).state == "abandoned"
