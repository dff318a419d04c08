"""The person's path over a real server: hello, the bot, the queue, a counsellor, the end."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed

from gateway.actions.messages import post_counsellor_message
from gateway.actions.queue import claim_session, ordered_queue
from gateway.actions.wrapup import check_wrapup, end_session
from gateway.models import ChatSession
from gateway.security import hash_token
from gateway.services import Services
from tests.chat_client import ChatClient, is_ack, is_type, offered
from tests.conftest import LiveServer
from tests.factories import make_staff

pytestmark = pytest.mark.asyncio


def live_services(server: LiveServer) -> Services:
    services: Services = server.app.state.runtime.svc
    return services


async def new_chat(server: LiveServer) -> ChatClient:
    client = await ChatClient.open(server.ws, server.origin)
    welcome = await client.hello()
    assert welcome["state"] == "bot"
    assert welcome["last_seq"] == 0
    assert len(welcome["token"]) >= 22  # at least 128 bits, URL-safe base64
    return client


async def consented_chat(server: LiveServer) -> ChatClient:
    """A new session whose person has agreed that the chat is kept."""
    client = await new_chat(server)
    await client.recv_until(lambda f: offered(f, "yes") is not None)
    await client.say("Yes, continue", value="yes")
    await client.recv_until(lambda f: offered(f, "happy") is not None)  # the mood menu
    await client.quiet()
    return client


async def test_new_session_is_greeted_by_the_bot_with_typing_first(live_server: LiveServer) -> None:
    client = await new_chat(live_server)
    assert client.welcome is not None
    assert client.welcome["v"] == 1
    frames = await client.recv_until(lambda f: f["type"] == "message")
    assert frames[0] == {"type": "typing", "from": "bot", "on": True}
    greeting = frames[-1]
    assert greeting["from"] == "bot"
    assert greeting["seq"] == 1
    assert greeting["text"]
    assert greeting["at"].endswith("Z")
    await client.close()


async def test_the_token_is_stored_only_as_a_hash(live_server: LiveServer) -> None:
    client = await new_chat(live_server)
    svc = live_services(live_server)
    async with svc.read() as session:
        hashes = list((await session.execute(select(ChatSession.token_hash))).scalars())
    assert hashes == [hash_token(client.token or "")]
    assert client.token not in hashes
    await client.close()


async def test_say_is_acked_with_the_next_seq(live_server: LiveServer) -> None:
    client = await new_chat(live_server)
    await client.recv_until(is_type("message"))
    await client.quiet()
    cid = await client.say("hello there")
    frames = await client.recv_until(is_ack(cid))
    ack = frames[-1]
    assert ack["seq"] > 1
    await client.close()


async def test_asking_for_a_person_queues_the_session_and_the_bot_then_stays_silent(
    live_server: LiveServer,
) -> None:
    await make_staff(live_services(live_server))
    client = await new_chat(live_server)
    await client.recv_until(is_type("message"))
    await client.quiet()
    # Before the person has answered the consent question: asked first, in one step.
    await client.say("I want to talk to a person")
    asked = await client.recv_until(lambda f: offered(f, "yes") is not None)
    assert "we keep this conversation" in asked[-1]["text"]
    assert not any(f["type"] == "state" for f in asked)
    yes = offered(asked[-1], "yes")
    assert yes is not None
    await client.say(yes["label"], value=yes["value"])
    frames = await client.recv_until(is_type("queue"))
    states = [f for f in frames if f["type"] == "state"]
    assert states and states[-1]["state"] == "queued"
    queue = frames[-1]
    assert queue["position"] == 1
    assert "estimated_wait_s" in queue and "counsellors_available" in queue
    # Queued: the person's messages are stored and acknowledged, the bot says nothing.
    cid = await client.say("hello? is anyone there", value="mood_menu")
    got = await client.recv_until(is_ack(cid))
    got += await client.quiet(0.5)
    assert not [f for f in got if f["type"] == "message" and f["from"] == "bot"]
    await client.close()


async def test_ask_counsellor_frame_queues_the_session(live_server: LiveServer) -> None:
    await make_staff(live_services(live_server))
    client = await consented_chat(live_server)
    await client.send({"type": "ask_counsellor"})
    frames = await client.recv_until(is_type("queue"))
    assert any(f["type"] == "state" and f["state"] == "queued" for f in frames)
    await client.close()


async def test_with_nobody_available_the_bot_says_so_and_the_person_can_wait(
    live_server: LiveServer,
) -> None:
    client = await consented_chat(live_server)
    await client.say("can I talk to a real person please")
    frames = await client.recv_until(lambda f: f["type"] == "message" and f.get("quick_replies"))
    texts = " ".join(f["text"] for f in frames if f["type"] == "message")
    assert "116 123" in texts
    assert not any(f["type"] == "state" for f in frames)
    wait = next(q for q in frames[-1]["quick_replies"] if q["value"] == "wait")
    await client.say(wait["label"], value=wait["value"])
    frames = await client.recv_until(is_type("queue"))
    assert any(f["type"] == "state" and f["state"] == "queued" for f in frames)
    assert frames[-1]["counsellors_available"] == 0
    await client.close()


async def test_a_counsellor_claims_chats_and_ends(live_server: LiveServer) -> None:
    svc = live_services(live_server)
    staff = await make_staff(svc, name="Sam")
    client = await consented_chat(live_server)
    await client.send({"type": "ask_counsellor"})
    await client.recv_until(is_type("queue"))
    (chat,) = await ordered_queue(svc)
    result = await claim_session(svc, session_id=chat.id, staff_id=staff.id)
    assert result.won
    frames = await client.recv_until(lambda f: f["type"] == "state" and f["state"] == "live")
    joined = [f for f in frames if f["type"] == "message" and f["from"] == "system"]
    assert joined and "Sam has joined" in joined[0]["text"]
    assert frames[-1]["counsellor"] == "Sam"

    await post_counsellor_message(
        svc, session_id=chat.id, staff=staff, client_id="c-1", text="Hi, I'm Sam. I'm here."
    )
    frames = await client.recv_until(lambda f: f["type"] == "message" and f["from"] == "counsellor")
    assert frames[-1]["name"] == "Sam"
    assert "client_id" not in frames[-1]

    cid = await client.say("thank you for being here")
    got = await client.recv_until(is_ack(cid))
    got += await client.quiet(0.4)
    assert not [f for f in got if f["type"] == "message" and f["from"] == "bot"]

    wrap_up = check_wrapup(
        svc, outcomes=svc.settings.wrapup_outcomes[:1], risk_level="low", notes=""
    )
    assert (await end_session(svc, session_id=chat.id, staff_id=staff.id, wrap_up=wrap_up)).done
    frames = await client.recv_until(lambda f: f["type"] == "state" and f["state"] == "closed")
    assert any(f["type"] == "message" and "ended the chat" in f["text"] for f in frames)
    await client.close()


async def test_unknown_token_is_refused_with_4404(live_server: LiveServer) -> None:
    client = await ChatClient.open(live_server.ws, live_server.origin)
    await client.send({"type": "hello", "v": 1, "token": "not-a-real-token", "last_seq": 0})
    error = await client.recv()
    assert error["type"] == "error" and error["code"] == "unknown_token"
    with pytest.raises(ConnectionClosed) as info:
        await client.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 4404


async def test_refused_origin_is_closed_with_1008(live_server: LiveServer) -> None:
    client = await ChatClient.open(live_server.ws, "https://evil.example")
    with pytest.raises(ConnectionClosed) as info:
        await client.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 1008
