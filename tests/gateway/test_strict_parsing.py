"""Strict parsing: the bounded readers (gateway/inputs.py), and each hole they close,
over a real server on SQLite and PostgreSQL.

Before: JSON nested 1,000 deep closed the widget socket with 1011 and a traceback
(the counsellor socket dropped silently); ``²`` and numbers beyond the columns
answered 500; a NUL in the sign-in form answered 500 on PostgreSQL; a post about a
chat that does not exist answered 500.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import date

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import DataError
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from counsellor_ui import frames as counsellor_frames
from counsellor_ui.auth import SESSION_COOKIE
from gateway import protocol
from gateway.actions.audit import WATCH
from gateway.actions.sessions import find_session
from gateway.inputs import (
    INT32_MAX,
    InputError,
    check_json_depth,
    json_depth,
    parse_choice,
    parse_date,
    parse_int,
    parse_text,
    same_secret,
)
from gateway.last_resort import LastResort
from gateway.models import AuditEvent
from gateway.services import Services
from gateway.types import StaffRole
from tests.chat_client import ChatClient
from tests.conftest import LiveServer
from tests.counsellor_ui.support import Browserless, signed_in_as, use_quick_setup
from tests.factories import make_queued_session, make_staff
from tests.gateway.test_input_sweep import login_token, server_log

DEEP = "[" * 1000 + "]" * 1000  # 2 KB
DEEP_SAY = '{"type":"say","client_id":"deep","text":"hi","x":' + DEEP + "}"


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


# --- the readers ------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=INT32_MAX))
def test_an_integer_in_ascii_digits_within_range_reads_back(number: int) -> None:
    assert parse_int(f" {number} ", name="id") == number


@given(st.text())
def test_parse_int_accepts_only_what_int_of_ascii_digits_would(raw: str) -> None:
    digits = raw.strip()
    plain = re.fullmatch(r"-?[0-9]{1,12}", digits, re.ASCII) is not None
    if plain and 0 <= int(digits) <= INT32_MAX:
        assert parse_int(raw, name="id") == int(digits)
    else:
        with pytest.raises(InputError):
            parse_int(raw, name="id")


@pytest.mark.parametrize(
    "raw", ["²", "١٢٣", "\uff11\uff12", str(2**64), str(2**31), "-1", "1e3", "", "0x1"]
)
def test_parse_int_refuses_what_str_isdigit_let_through(raw: str) -> None:
    with pytest.raises(InputError):
        parse_int(raw, name="id")


@given(st.text(max_size=50))
def test_parse_text_never_returns_a_control_character_or_a_lone_surrogate(raw: str) -> None:
    try:
        text = parse_text(raw, name="note", max_chars=40, multiline=True, strip=False)
    except InputError:
        bad = [c for c in raw if (ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) <= 0x9F]
        surrogate = any(0xD800 <= ord(c) <= 0xDFFF for c in raw)
        assert bad or surrogate or len(raw) > 40
    else:
        assert text == raw
        text.encode("utf-8")


def test_parse_text_line_and_multiline() -> None:
    assert parse_text("two\nlines\t", name="note", max_chars=20, multiline=True) == "two\nlines"
    for bad in ["a\nb", "\x00", "a\x1bb", "a\x85b", "\ud800", "x" * 21]:
        with pytest.raises(InputError):
            parse_text(bad, name="title", max_chars=20)
    # Direction overrides are text (shown neutralised to staff elsewhere), not controls.
    assert parse_text("\u202eabc", name="title", max_chars=20) == "\u202eabc"


def test_choices_and_dates() -> None:
    assert parse_choice("7d", {"7d", "30d"}, name="period") == "7d"
    with pytest.raises(InputError):
        parse_choice("7d\x00", {"7d"}, name="period")
    assert parse_date("2026-03-01", name="from") == date(2026, 3, 1)
    for bad in [
        "0001-01-01",
        "2026-02-30",
        "\uff12\uff10\uff12\uff16-01-01",
        "20260301",
        "2026-W01-1",
        "",
    ]:
        with pytest.raises(InputError):
            parse_date(bad, name="from")


@given(st.recursive(st.none() | st.integers() | st.text(), lambda c: st.lists(c), max_leaves=30))
def test_json_depth_counts_nesting_and_ignores_brackets_in_strings(value: object) -> None:
    def depth(v: object) -> int:
        return 1 + max(map(depth, v), default=0) if isinstance(v, list) else 0

    assert json_depth(json.dumps(value)) == depth(value)


def test_depth_is_checked_before_any_decoder_recurses() -> None:
    assert json_depth('{"a": "[[[[[[", "b": ["]]]"]}') == 2
    with pytest.raises(InputError):
        check_json_depth(DEEP)
    check_json_depth(json.dumps({"type": "say", "text": "[" * 5000}))  # text, not depth
    with pytest.raises(Exception) as caught:
        protocol.decode_client_frame(DEEP_SAY)
    assert "nests more than" in str(caught.value)
    assert protocol.say_client_id(DEEP_SAY) is None  # this probe used to recurse
    with pytest.raises(Exception) as caught:
        counsellor_frames.decode('{"x":' + DEEP + ',"type":"say"}')
    assert "nests more than" in str(caught.value)


def test_secrets_compare_whatever_text_is_sent() -> None:
    assert same_secret("abc", "abc") and not same_secret("²", "abc")
    assert not same_secret("\ud800", "abc")


# --- the widget socket --------------------------------------------------------------


@pytest.mark.asyncio
async def test_deep_json_is_a_counted_bad_frame_and_the_widget_socket_stays_up(
    live_server: LiveServer,
) -> None:
    limit = live_server.settings.max_bad_frames
    with server_log() as log:
        client = await ChatClient.open(live_server.ws, live_server.origin)
        await client.hello()
        for _ in range(limit):
            await client.send_raw(DEEP_SAY)
            error = await client.recv_until(lambda f: f["type"] == "error")
            assert error[-1]["code"] == "bad_frame"
            assert "nests more than 32 levels" in error[-1]["detail"]
        client_id = await client.say("Still here")
        await client.recv_until(lambda f: f.get("client_id") == client_id and f["type"] == "ack")
        # It counts toward the bad-frame limit: one more closes the socket for abuse.
        await client.send_raw(DEEP)
        with pytest.raises(ConnectionClosed):
            await client.recv_until(lambda f: False)
        assert client.ws.protocol.close_rcvd is not None
        assert client.ws.protocol.close_rcvd.code == protocol.Close.ABUSE
    assert not [r for r in log.records if r.levelno >= logging.ERROR], log.troubles()


@pytest.mark.parametrize(
    ("field", "value"),
    [("last_seq", str(2**64)), ("last_seq", str(2**31)), ("v", str(2**64)), ("last_seq", "1e309")],
)
@pytest.mark.asyncio
async def test_a_hello_with_numbers_beyond_the_columns_is_a_bad_hello_not_a_crash(
    live_server: LiveServer, field: str, value: str
) -> None:
    frame = json.dumps({"type": "hello", "v": 1, "token": None, "last_seq": 0, field: "_"})
    with server_log() as log:
        client = await ChatClient.open(live_server.ws, live_server.origin)
        await client.send_raw(frame.replace('"_"', value))
        error = await client.recv()
        assert error["type"] == "error" and error["code"] == "bad_frame"
        with pytest.raises(ConnectionClosed):
            await client.recv()
        assert client.ws.protocol.close_rcvd is not None
        assert client.ws.protocol.close_rcvd.code == protocol.Close.BAD_HELLO
    assert not [r for r in log.records if r.levelno >= logging.ERROR], log.troubles()


@pytest.mark.parametrize("text", ["a\x00b", "\x1b[31mred", "\x85"])
@pytest.mark.asyncio
async def test_control_characters_in_a_message_are_refused_with_its_client_id(
    live_server: LiveServer, text: str
) -> None:
    client = await ChatClient.open(live_server.ws, live_server.origin)
    await client.hello()
    await client.send({"type": "say", "client_id": "c1", "text": text})
    error = (await client.recv_until(lambda f: f["type"] == "error"))[-1]
    assert (error["code"], error["client_id"]) == ("bad_frame", "c1")
    assert "control characters" in error["detail"] and "regex" not in error["detail"]
    await client.close()


# --- the counsellor socket -------------------------------------------------------------


async def staff_socket(who: Browserless, query: str) -> object:
    return await connect(
        f"{who.server.ws}/counsellor/ws{query}",
        origin=Origin(who.server.origin),
        additional_headers={"Cookie": f"{SESSION_COOKIE}={who.cookie}"},
    )


@pytest.mark.asyncio
async def test_deep_json_on_the_counsellor_socket_is_answered_and_it_stays_up(
    live_server: LiveServer,
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    sam = await signed_in_as(live_server, await make_staff(svc, name="Sam"))
    chat = await make_queued_session(svc)
    await sam.post(f"/counsellor/sessions/{chat.id}/claim")
    with server_log() as log:
        async with await connect(
            f"{live_server.ws}/counsellor/ws?session={chat.id}",
            origin=Origin(live_server.origin),
            additional_headers={"Cookie": f"{SESSION_COOKIE}={sam.cookie}"},
        ) as ws:
            await ws.send('{"x":' + DEEP + ',"type":"say"}')
            await ws.send(json.dumps({"type": "say", "client_id": "n", "text": "a\x00b"}))
            await ws.send(json.dumps({"type": "say", "client_id": "ok", "text": "Hello"}))
            seen = []
            while not seen or seen[-1].get("client_id") != "ok":
                seen.append(json.loads(await ws.recv()))
            errors = [f for f in seen if f["type"] == "error"]
            assert len(errors) == 2 and "nests more than" in errors[0]["message"]
            assert errors[1]["client_id"] == "n" and "control characters" in errors[1]["message"]
            assert seen[-1]["type"] == "ack"
    assert not [r for r in log.records if r.levelno >= logging.ERROR], log.troubles()


@pytest.mark.parametrize(
    "query", ["?session=²", "?session=١٢٣", f"?session={2**64}", "?session=1&after=²", "?after="]
)
@pytest.mark.asyncio
async def test_bad_counsellor_socket_parameters_are_refused_at_the_handshake(
    live_server: LiveServer, query: str
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    sam = await signed_in_as(live_server, await make_staff(svc, name="Sam"))
    with server_log() as log:
        ws = await staff_socket(sam, query)
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()  # type: ignore[attr-defined]
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert not [r for r in log.records if r.levelno >= logging.ERROR], log.troubles()


# --- pages and forms -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_forms_refuse_odd_digits_big_numbers_and_nul_with_a_400_page(
    live_server: LiveServer,
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    admin = await signed_in_as(live_server, await make_staff(svc, role=StaffRole.ADMIN))
    chat = await make_queued_session(svc)
    await admin.post(f"/counsellor/sessions/{chat.id}/claim")
    with server_log() as log:
        for field, value in [("to", "²"), ("to", "١٢٣"), ("to", str(2**64)), ("note", "a\x00b")]:
            form = {"to": "1", "note": "Handing over", field: value}
            response = await admin.post(f"/counsellor/sessions/{chat.id}/transfer", **form)
            assert response.status_code == 400, (field, value)
            assert "Go back and try again" in response.text and "\x00" not in response.text
        response = await admin.post("/counsellor/canned/delete", id=str(2**64))
        assert response.status_code == 400
        # A chat number beyond the column, or one that does not exist: no such chat.
        for number in (2**64, 2**31, 0):
            response = await admin.post(f"/counsellor/sessions/{number}/release")
            assert response.status_code == 404 and "There is no such chat" in response.text
        response = await admin.get(f"/counsellor/?notice={'x' * 600}")
        assert response.status_code == 400
        response = await admin.get("/counsellor/statistics?period=custom&from=0001-01-01&to=٢")
        assert response.status_code == 200 and "Give both dates" in response.text
        async with admin.http() as client:
            response = await client.post(
                "/counsellor/presence",
                files={"available": ("x.txt", b"yes", "text/plain")},
                data={"csrf_token": admin.csrf},
            )
        assert response.status_code == 400, response.headers  # no staff form takes a file
    assert not [r for r in log.records if r.levelno >= logging.ERROR], log.troubles()


@pytest.mark.parametrize(
    ("username", "password"),
    [("sam\x00", "x"), ("sam", "pass\x00word"), ("²" * 70, "x"), ("sam", "\x1b")],
)
@pytest.mark.asyncio
async def test_sign_in_with_nul_or_controls_is_the_usual_refusal_not_a_500(
    live_server: LiveServer, username: str, password: str
) -> None:
    with server_log() as log:
        async with httpx.AsyncClient(base_url=live_server.http) as client:
            token = await login_token(client)
            response = await client.post(
                "/counsellor/sign-in",
                data={"username": username, "password": password, "login_csrf": token},
            )
            assert response.status_code in (400, 401)
            assert "did not match" in response.text
            # A token that is not ASCII (compare_digest used to raise on it): expired.
            response = await client.post(
                "/counsellor/sign-in",
                data={"username": "sam", "password": "x", "login_csrf": "²"},
            )
            assert response.status_code == 400 and "expired" in response.text
    assert not [r for r in log.records if r.levelno >= logging.ERROR], log.troubles()


@pytest.mark.asyncio
async def test_a_chat_the_counsellor_cannot_claim_shows_none_of_its_words(
    live_server: LiveServer,
) -> None:
    """The 403 page of a chat that is not yours (with the bot, with a colleague, or
    ended): whose it is, never what was said."""
    svc: Services = live_server.app.state.runtime.svc
    sam = await signed_in_as(live_server, await make_staff(svc, name="Sam"))
    jo = await signed_in_as(live_server, await make_staff(svc, name="Jo"))
    people = []
    for words in ("Secret words for the bot", "Words only Jo may read", "Words before I left"):
        person = await ChatClient.open(live_server.ws, live_server.origin)
        await person.hello()
        said = await person.say(words)
        await person.recv_until(lambda f, said=said: f.get("client_id") == said)
        people.append(person)
    bot_only, with_jo, gone = people
    await with_jo.ask_for_a_person()
    assert (await jo.post("/counsellor/take-next")).status_code == 303
    await with_jo.say("More private words after the claim")
    await gone.send({"type": "leave"})
    await gone.quiet(0.3)
    for person in people:
        assert person.token is not None
        view = await find_session(svc, token=person.token)
        assert view is not None
        page = await sam.get(f"/counsellor/sessions/{view.id}")
        assert page.status_code == 403 and "This chat is not yours" in page.text
        for words in ("Secret", "Words only", "private", "before I left", "Preview"):
            assert words not in page.text, (view.state, words)
    for person in (bot_only, with_jo):
        await person.close()


# --- the last line of defence ------------------------------------------------------------


@pytest.mark.asyncio
async def test_whatever_still_raises_answers_a_plain_page_and_logs_no_input() -> None:
    async def database_refuses(request: Request) -> Response:
        # As a driver does: the statement's parameters, what was sent, in the error.
        raise DataError("INSERT ... VALUES ($1)", (request.query_params["q"],), None)

    async def bug(request: Request) -> Response:
        raise RuntimeError(f"failed on {request.query_params['q']}")

    app = Starlette(routes=[Route("/data", database_refuses), Route("/bug", bug)])
    app.add_middleware(LastResort)
    with server_log() as log:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            refused = await client.get("/data?q=secret+words%00")
            broken = await client.get("/bug?q=private+words")
    assert refused.status_code == 400 and "could not be read" in refused.text
    assert broken.status_code == 500 and "Something went wrong" in broken.text
    assert "secret" not in refused.text and "private" not in broken.text
    lines = log.troubles()
    assert any("/data failed with DataError (answered 400)" in line for line in lines), lines
    assert any("/bug failed with RuntimeError (answered 500)" in line for line in lines), lines
    assert not [line for line in lines if "secret" in line or "private" in line], lines


@pytest.mark.asyncio
async def test_a_client_that_leaves_mid_request_is_not_an_error() -> None:
    async def reads_the_form(scope: Scope, receive: Receive, send: Send) -> None:
        raise ClientDisconnect  # what Request.form() raises when the client has gone

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    scope: Scope = {"type": "http", "method": "POST", "path": "/counsellor/notes"}
    with server_log() as log:
        await LastResort(reads_the_form)(scope, receive, send)
    assert sent == [] and log.records == []


@pytest.mark.asyncio
async def test_a_bad_notice_is_refused_before_the_page_does_anything(
    live_server: LiveServer,
) -> None:
    """A supervisor's watch page with an unreadable notice records no watch."""
    svc: Services = live_server.app.state.runtime.svc
    alex = await signed_in_as(live_server, await make_staff(svc, role=StaffRole.SUPERVISOR))
    chat = await make_queued_session(svc)
    for page in (f"/counsellor/sessions/{chat.id}/watch", "/counsellor/", "/counsellor/canned"):
        response = await alex.get(f"{page}?notice=a%00b")
        assert response.status_code == 400, page
    async with svc.read() as session:
        watches = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == WATCH)
        )
    assert watches == 0
    assert (await alex.get(f"/counsellor/sessions/{chat.id}/watch?notice=Hello")).status_code == 200
