"""Property and fuzz tests of the widget websocket against a live server.

Random malformed, truncated, oversized and wrongly typed frames, and random
sequences of valid ones: the server stays up, a bystander session on another
connection is unaffected, nothing invalid is stored, and ``seq`` stays gap-free.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import NoResultFound
from websockets.exceptions import ConnectionClosed

from gateway.models import ChatSession
from gateway.settings import Settings
from tests.chat_client import ChatClient, Frame
from tests.conftest import LiveServer
from tests.gateway.test_protocol_support import (
    all_sessions,
    chat_row,
    close_code,
    greeted_chat,
    open_chat,
    serve,
    stored_messages,
)

pytestmark = pytest.mark.asyncio
FRAME_LIMIT = 16 * 1024
TYPING_OFF = {"type": "typing", "from": "bot", "on": False}
FUZZ = settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- strategies -------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
client_ids = st.text(max_size=70) | st.sampled_from(["a", "b", "c"])
texts = st.text(max_size=60) | st.sampled_from(["", "   ", "\n", "!mood", "I feel anxious"])
values = st.none() | st.sampled_from(["yes", "no", "menu", "counsellor", "x" * 65])
valid_frames: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.builds(
        lambda cid, text, value: {"type": "say", "client_id": cid, "text": text, "value": value},
        client_ids,
        texts,
        values,
    ),
    st.builds(lambda on: {"type": "typing", "on": on}, st.booleans()),
    st.just({"type": "ask_counsellor"}),
    st.just({"type": "hello", "v": 1, "token": None}),  # a second hello
)


def _mistyped(frame: dict[str, Any], index: int, value: object) -> str:
    field = sorted(frame)[index % len(frame)]
    return json.dumps({**frame, field: value})


def _with_extra(frame: dict[str, Any], key: str, value: object) -> str:
    return json.dumps({**frame, key: value})


def _truncated(frame: dict[str, Any], cut: int) -> str:
    return json.dumps(frame)[: max(1, cut)]


def _oversized(size: int) -> str:
    return json.dumps({"type": "say", "client_id": "big", "text": "x" * size})


def _frame(frame: str | bytes | int) -> str | bytes:
    """An int stands for a say of that many characters (kept short in Hypothesis' reports)."""
    return _oversized(frame) if isinstance(frame, int) else frame


raw_frames = st.one_of(
    valid_frames.map(json.dumps),
    st.text(max_size=80),
    st.builds(_truncated, valid_frames, st.integers(0, 60)),
    st.builds(_mistyped, valid_frames, st.integers(0, 9), json_values),
    st.builds(_with_extra, valid_frames, st.text(max_size=8), json_values),
    st.integers(FRAME_LIMIT - 40, FRAME_LIMIT * 2),  # oversized
    st.binary(max_size=40),
    st.sampled_from([json.dumps({"type": "leave"}), json.dumps({"type": "erase"})]),
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("say"), st.sampled_from(["a", "b", "c", "d"]), texts),
        st.tuples(st.just("typing"), st.booleans(), st.just("")),
        st.tuples(st.just("ask_counsellor"), st.none(), st.just("")),
        st.tuples(st.just("reconnect"), st.none(), st.just("")),
        st.tuples(st.just("leave"), st.none(), st.just("")),
    ),
    min_size=1,
    max_size=10,
)

# --- helpers ----------------------------------------------------------------


@pytest_asyncio.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    # The bystander speaks once per example: lift the per-connection and address caps.
    lifted = {"max_connections_per_address": 1000, "rate_limit_messages": 10_000}
    async with serve(settings, **lifted) as running:
        yield running


@pytest_asyncio.fixture
async def bystander(server: LiveServer) -> AsyncIterator[ChatClient]:
    client = await greeted_chat(server)
    yield client
    await client.close()


async def chat_row_if_any(url: str, token: str) -> ChatSession | None:
    try:
        return await chat_row(url, token)
    except NoResultFound:
        return None


def answers(client_id: str) -> Any:
    return lambda f: f.get("client_id") == client_id and f["type"] != "message"


async def answer_to_probe(client: ChatClient) -> Frame:
    """Send a valid message; its answer: an ack, or an error if the session has ended."""
    cid = uuid.uuid4().hex
    await client.say("are you there?", client_id=cid)
    return (await client.recv_until(answers(cid)))[-1]


async def check_database(url: str) -> None:
    """Nothing invalid is stored, and every session's seq runs 1..last_seq."""
    # Sessions first: a message and its session's last_seq are committed together,
    # so the messages read next include at least 1..last_seq of each.
    sessions = await all_sessions(url)
    rows = await stored_messages(url)
    for chat in sessions:
        mine = [m for m in rows if m.session_id == chat.id and m.seq <= chat.last_seq]
        if chat.token_hash is not None:  # an erased session has no messages left
            assert [m.seq for m in mine] == list(range(1, chat.last_seq + 1))
        for m in (m for m in mine if m.sender == "user"):
            assert m.text == m.text.strip() and 0 < len(m.text) <= 4000
            assert "\x00" not in m.text
            assert m.client_id and len(m.client_id) <= 64
            assert not [c for c in m.client_id if ord(c) < 32 or c == "\x7f"]


# --- properties -------------------------------------------------------------


@FUZZ
@given(frames=st.lists(raw_frames, min_size=1, max_size=8))
async def test_random_frames_never_break_the_server(
    server: LiveServer,
    settings: Settings,
    bystander: ChatClient,
    caplog: pytest.LogCaptureFixture,
    frames: list[str | bytes | int],
) -> None:
    caplog.set_level(logging.ERROR, logger="gateway")
    client = await open_chat(server)
    try:
        for raw in frames:
            await client.send_raw(_frame(raw))
        answer = await answer_to_probe(client)
        # Still usable: the probe is stored, or refused because a leave ended the session.
        assert answer["type"] == "ack" or answer.get("code") == "closed", answer
    except ConnectionClosed:
        # Closed only after leave or erase (1000) or for abuse (4429); never 1011.
        assert client.ws.protocol.close_rcvd is not None
        assert client.ws.protocol.close_rcvd.code in (1000, 4429)
    await client.close()
    errors = {f["code"] for f in client.seen if f["type"] == "error"}
    assert errors <= {"bad_frame", "too_large", "empty", "closed", "not_now", "rate_limited"}
    # Another session, on another connection, goes on as before.
    assert (await answer_to_probe(bystander))["type"] == "ack"
    await bystander.recv_until(lambda f: f == TYPING_OFF)
    seen = sorted(f["seq"] for f in bystander.seen if f["type"] in ("message", "ack"))
    assert seen == list(range(1, len(seen) + 1))
    await check_database(settings.database_url)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@FUZZ
@given(steps=steps)
async def test_random_valid_sequences_keep_seq_gap_free_and_sends_idempotent(
    server: LiveServer, settings: Settings, steps: list[tuple[str, Any, str]]
) -> None:
    client = await greeted_chat(server)
    token, views, acks = client.token, [client], dict[str, int]()
    for action, arg, text in steps:
        if action == "say":
            await client.say(text, client_id=arg)
            answer = (await client.recv_until(answers(arg)))[-1]
            if answer["type"] == "ack":  # the same client_id is always the same seq
                assert acks.setdefault(arg, answer["seq"]) == answer["seq"]
        elif action == "typing":
            await client.send({"type": "typing", "on": arg})
        elif action == "ask_counsellor":
            await client.send({"type": "ask_counsellor"})
        elif action == "reconnect":
            await client.close()
            last = max((f["seq"] for f in client.seen if "seq" in f), default=0)
            client = await open_chat(server, token=token, last_seq=last)
            views.append(client)
        else:
            await client.send({"type": "leave"})
            assert await close_code(client) == 1000
            break
    await client.close()
    for view in views:  # each connection shows messages in order, each once
        shown = [f["seq"] for f in view.seen if f["type"] == "message"]
        assert shown == sorted(set(shown))
    await check_database(settings.database_url)
    assert token is not None
    row = await chat_row_if_any(settings.database_url, token)
    if row is None:
        # A "no" to the consent question ends the chat and erases it: nothing is kept
        # to compare with (check_database above has checked every session left).
        return
    session_id = row.id
    rows = await stored_messages(settings.database_url, session_id)
    assert {m.client_id: m.seq for m in rows if m.sender == "user"} == acks
