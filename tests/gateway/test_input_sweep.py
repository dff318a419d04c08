"""The sweep: every route, form field, query parameter and frame type of the running
app, sent edge values, on SQLite and PostgreSQL, signed in as an admin.

Nothing is listed by hand. Routes come from walking ``app.routes`` (mounts
included); the fields and query parameters each view reads come from its source
(every string literal given to a form or query reader in the view and the
module's helpers it calls); the frame types and their fields come from the two
protocols' unions. So a new route, field or frame type is swept as soon as it
exists. Each answer must be below 500, each socket must answer every frame (an
``error`` frame or its normal answer) and still work afterwards, and the server's
log must hold no traceback.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_args
from urllib.parse import quote

import httpx
import msgspec
import pytest
import pytest_asyncio
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from counsellor_ui import frames as counsellor_frames
from counsellor_ui.auth import SESSION_COOKIE
from gateway import protocol
from gateway.services import Services
from gateway.settings import Settings
from gateway.types import StaffRole
from tests.chat_client import ChatClient
from tests.conftest import LiveServer, make_settings
from tests.counsellor_ui.support import Browserless, signed_in_as, use_quick_setup
from tests.factories import make_queued_session, make_staff

pytestmark = pytest.mark.asyncio


def _q(text: str) -> str:
    return quote(text, safe="")


# Edge values for a form field or query parameter, already percent-encoded (so that a
# lone surrogate and bytes that are not UTF-8 can be sent as a browser could).
HTTP_EDGES: dict[str, str] = {
    "empty": "",
    "very long": _q("x" * 12_000),
    "NUL": "%00",
    "C0 controls": _q("\x01\x1b[31m\x7f"),
    "C1 controls": _q("\x85\x9f"),
    "right-to-left override": _q("\u202eevil"),
    "superscript two": _q("²"),
    "Arabic-Indic digits": _q("١٢٣"),
    "2**64": str(2**64),
    "2**31": str(2**31),
    "-1": "-1",
    "1e309": "1e309",
    "lone surrogate": "%ED%A0%80",
    "not UTF-8": "%FF%FE",
    "nested JSON": _q("[" * 1000 + "]" * 1000),
    "date far away": "0001-01-01",
}
# A handshake's request line is shorter than a page's (the websocket server's own limit).
SOCKET_QUERY_EDGES = {**HTTP_EDGES, "very long": _q("x" * 3000)}
# The integer in a URL (``{session_id:int}`` takes ASCII digits only; others are 404).
PATH_EDGES = ["0", str(2**31), str(2**64), "9" * 40, "%C2%B2", "%D9%A1", "%00", "-1", "1e3"]
# What a static mount is asked for.
STATIC_EDGES = ["%00", "a%00.js", "..%2F..%2Fsettings.py", "%ED%A0%80", "x" * 300, "%FF"]
# The staff cookie itself.
COOKIE_EDGES = ["²".encode(), b"x" * 3000, b"a.b.c", b"%00", b"\xff\xfe"]

# Edge values for a frame's field, as raw JSON (some are not valid JSON at all).
JSON_EDGES: dict[str, str] = {
    "empty": '""',
    "longer than a frame": json.dumps("x" * 20_000),
    "NUL": '"\\u0000"',
    "C0 controls": '"\\u0001\\u001b[31m"',
    "C1 control": '"\\u0085"',
    "right-to-left override": '"\\u202e"',
    "superscript two": '"²"',
    "Arabic-Indic digits": '"١٢٣"',
    "2**64": str(2**64),
    "-2**63-1": str(-(2**63) - 1),
    "2**31": str(2**31),
    "-1": "-1",
    "1e309": "1e309",
    "-1e309": "-1e309",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "lone surrogate": '"\\ud800"',
    "nested 1000 deep": "[" * 1000 + "]" * 1000,
    "objects 1000 deep": '{"a":' * 1000 + "1" + "}" * 1000,
    "null": "null",
    "true": "true",
    "float": "1.5",
    "array": "[]",
    "object": "{}",
}
# Valid values for the required fields of a frame (the others are left out).
FRAME_BASELINE: dict[str, Any] = {"v": 1, "text": "hello", "on": True, "score": 3}
# Valid values for the other fields of a form while one is swept, so the view reads on.
FORM_BASELINE = {
    "POST": {"id": "999999", "to": "999999", "role": "counsellor", "password": "sweep pass 1234"},
    "GET": {"period": "custom", "from": "2026-01-01", "to": "2026-01-31"},
}
# How many routes are swept at once.
SWEEP_LANES = 4
# Calls that read a named form field, query parameter or header.
FIELD_NAME = re.compile(r"[a-z][a-z0-9_-]{0,40}")
READERS = {"form_text", "form_int", "query_text", "get", "getlist", "parse_int", "parse_text"}


# --- what the app has ---------------------------------------------------------


def walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    """Every route of the app with its full path, mounted ones included."""
    for route in routes:
        if isinstance(route, Mount):
            children = route.routes
            if children:
                yield from walk(children, prefix + route.path)
            else:
                yield prefix + route.path, route  # a mounted app (static files)
        elif isinstance(route, (Route, WebSocketRoute)):
            yield prefix + route.path, route


def names_read(endpoint: Callable[..., Any]) -> set[str]:
    """The field and parameter names the endpoint reads: string literals given to a
    reader in its body and in the functions of its module it calls."""
    module = inspect.getmodule(endpoint)
    assert module is not None
    tree = ast.parse(inspect.getsource(module))
    functions = {
        node.name: node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    # Module constants that list names (``_NAMES = ("action", "from")``).
    lists = {
        target.id: node.value.elts
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Tuple, ast.List))
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    names: set[str] = set()
    todo, seen = [endpoint.__name__], set()
    while todo:
        function = functions.get(todo.pop())
        if function is None or function.name in seen:
            continue
        seen.add(function.name)
        for node in ast.walk(function):
            # ``{name: form_text(form, name) for name in ("title", "body")}``
            if isinstance(node, ast.comprehension):
                listed = node.iter
                elts = (
                    listed.elts
                    if isinstance(listed, (ast.Tuple, ast.List))
                    else lists.get(listed.id, [])
                    if isinstance(listed, ast.Name)
                    else []
                )
                names |= {
                    e.value
                    for e in elts
                    if isinstance(e, ast.Constant)
                    and isinstance(e.value, str)
                    and FIELD_NAME.fullmatch(e.value)
                }
            if not isinstance(node, ast.Call):
                continue
            callee = node.func
            name = (
                callee.id
                if isinstance(callee, ast.Name)
                else callee.attr
                if isinstance(callee, ast.Attribute)
                else ""
            )
            todo.append(name)
            if name in READERS:
                names |= {
                    a.value
                    for a in node.args[:2]
                    if isinstance(a, ast.Constant)
                    and isinstance(a.value, str)
                    and FIELD_NAME.fullmatch(a.value)
                }
    return names


def struct_fields(cls: type[msgspec.Struct]) -> list[msgspec.structs.FieldInfo]:
    return list(msgspec.structs.fields(cls))


def frame_types(union: Any) -> list[type[msgspec.Struct]]:
    return [cls for cls in get_args(union) if isinstance(cls, type)]


def frame_text(cls: type[msgspec.Struct], field_name: str | None, raw: str) -> str:
    """A frame of type ``cls`` with ``field_name`` set to the raw JSON ``raw``
    (None: an unknown field ``x`` carries it), the other required fields valid."""
    tag = cls.__struct_config__.tag
    frame: dict[str, Any] = {"type": tag}
    for info in struct_fields(cls):
        if info.required:
            frame[info.encode_name] = FRAME_BASELINE.get(info.encode_name, "a")
        if info.encode_name == "client_id":
            frame["client_id"] = uuid.uuid4().hex
    frame[field_name or "x"] = "__EDGE__"
    return json.dumps(frame, ensure_ascii=False).replace('"__EDGE__"', raw)


# --- the server's log ---------------------------------------------------------


class LogBook(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        # Heard on several loggers when they propagate: kept once.
        if not any(kept is record for kept in self.records):
            self.records.append(record)

    def troubles(self) -> list[str]:
        """Every warning or error logged, with any traceback it carries."""
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        return [formatter.format(r) for r in self.records]


@contextlib.contextmanager
def server_log() -> Iterator[LogBook]:
    """What the server logs meanwhile. The gateway's and uvicorn's own loggers are
    listened to as well as the root: once a server of this process has configured
    logging (gateway/logs.py), they no longer propagate."""
    book = LogBook()
    names = ("", "uvicorn", "gateway", "counsellor_ui")
    loggers = [logging.getLogger(name) for name in names]
    for logger in loggers:
        logger.addHandler(book)
    try:
        yield book
    finally:
        for logger in loggers:
            logger.removeHandler(book)


# --- fixtures -----------------------------------------------------------------

# Limits that would otherwise close or throttle the sweep (each is tested on its own):
# only those this version of the settings has.
SWEEP_LIMITS: dict[str, object] = {
    "max_bad_frames": 1_000_000,
    "rate_limit_frames": 1_000_000,
    "rate_limit_messages": 1_000_000,
    "limit_messages_per_session": "1000000/minute",
    "limit_messages_per_address": "1000000/minute",
    "limit_sessions_per_address": "1000000/minute",
    "limit_escalations_per_address": "1000000/minute",
    "challenge": "off",
    "login_address_attempts": 1_000_000,
    "login_account_free_failures": 1_000_000,
    "login_max_failures": 1_000_000,
}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    known = {f.name for f in fields(Settings)}
    limits = {name: value for name, value in SWEEP_LIMITS.items() if name in known}
    return make_settings(database_url, tmp_path, **limits)


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


@dataclass
class Stage:
    server: LiveServer
    admin: Browserless
    held: int  # a live chat the admin holds
    person: ChatClient  # the person in it
    failures: list[str] = field(default_factory=list)

    @property
    def svc(self) -> Services:
        services: Services = self.server.app.state.runtime.svc
        return services

    def check(self, status: int, what: str) -> None:
        if status >= 500:
            self.failures.append(f"{status}: {what}")


@pytest_asyncio.fixture
async def stage(live_server: LiveServer) -> AsyncIterator[Stage]:
    svc: Services = live_server.app.state.runtime.svc
    admin = await signed_in_as(live_server, await make_staff(svc, role=StaffRole.ADMIN))
    person = await ChatClient.open(live_server.ws, live_server.origin)
    await person.hello()
    await person.ask_for_a_person()
    held = (await admin.post("/counsellor/take-next")).headers["location"].rsplit("/", 1)[1]
    await make_queued_session(svc)  # someone else waiting, for the queue's pages
    yield Stage(live_server, admin, int(held), person)
    await person.close()


# --- HTTP ---------------------------------------------------------------------


def concrete(path: str, session_id: int) -> str:
    return re.sub(r"\{[^}]+\}", str(session_id), path)


async def sweep_route(stage: Stage, client: httpx.AsyncClient, path: str, route: Route) -> int:
    """Every method of one route with each of its fields swept; the requests sent."""
    sent = 0
    names = names_read(route.endpoint)
    for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
        url = concrete(path, stage.held)
        if method == "GET":
            # Parameters it does not read, all at once (a post is never sent one: with
            # a valid token, a post that reads nothing would act).
            unread = "&".join(f"unread{i}={edge}" for i, edge in enumerate(HTTP_EDGES.values()))
            response = await client.get(f"{url}?{unread}")
            stage.check(response.status_code, f"GET {path}?{unread[:40]}")
            sent += 1
        baseline = {k: v for k, v in FORM_BASELINE[method].items() if k in names}
        secret: dict[str, str] = {}
        if method == "POST":
            secret = {"csrf_token": stage.admin.csrf}
            if "login_csrf" in names:
                secret = {"login_csrf": await login_token(client)}
        for name in sorted(names | set(secret)):
            for label, edge in HTTP_EDGES.items():
                pairs = {**baseline, **secret, name: edge}
                encoded = "&".join(f"{_q(k)}={v}" for k, v in pairs.items())
                what = f"{method} {path} {name}={label}"
                if method == "GET":
                    response = await client.get(f"{url}?{encoded}")
                else:
                    response = await client.post(
                        url,
                        content=encoded.encode(),
                        headers={"content-type": "application/x-www-form-urlencoded"},
                    )
                stage.check(response.status_code, what)
                sent += 1
            if method == "POST":
                # Wrong types: the field twice, and a file where text belongs.
                twice = "&".join(f"{_q(k)}={_q(v)}" for k, v in {**baseline, **secret}.items())
                response = await client.post(
                    url,
                    content=f"{twice}&{_q(name)}=1&{_q(name)}=%00".encode(),
                    headers={"content-type": "application/x-www-form-urlencoded"},
                )
                stage.check(response.status_code, f"POST {path} {name} twice")
                response = await client.post(
                    url,
                    data={**baseline, **secret},
                    files={name: ("x.txt", b"\x00\xff", "application/octet-stream")},
                )
                stage.check(response.status_code, f"POST {path} {name} as a file")
                sent += 2
        if "{" in path:
            for edge in PATH_EDGES:
                edged = re.sub(r"\{[^}]+\}", edge, path)
                data = {"csrf_token": stage.admin.csrf} if method == "POST" else None
                response = await client.request(method, edged, data=data)
                stage.check(response.status_code, f"{method} {edged}")
                sent += 1
    return sent


async def login_token(client: httpx.AsyncClient) -> str:
    """A sign-in form's token, with its cookie in ``client`` (signed out)."""
    form = await client.get("/counsellor/sign-in")
    token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
    assert token is not None, form.status_code
    return token[1]


async def sweep_http(stage: Stage) -> int:
    sent = 0
    routes = list(walk(stage.server.app.routes))
    assert any(p == "/counsellor/sessions/{session_id:int}/notes" for p, _ in routes)
    async with stage.admin.http() as admin, httpx.AsyncClient(base_url=stage.server.http) as anon:
        admin.timeout = anon.timeout = httpx.Timeout(60)  # a busy machine, lanes waiting
        # Routes side by side, a few at a time: the server waits on its database
        # between requests, and the sweep is then a few times shorter.
        lanes = asyncio.Semaphore(SWEEP_LANES)

        async def one(path: str, route: Route) -> int:
            async with lanes:
                names = names_read(route.endpoint)
                client = anon if "login_csrf" in names else admin
                return await sweep_route(stage, client, path, route)

        found = [one(path, route) for path, route in routes if isinstance(route, Route)]
        sent += sum(await asyncio.gather(*found))
        for path, route in routes:
            if isinstance(route, Mount):
                for edge in STATIC_EDGES:
                    response = await admin.get(f"{path}/{edge}")
                    stage.check(response.status_code, f"GET {path}/{edge}")
                    sent += 1
        for cookie in COOKIE_EDGES:
            response = await anon.get(
                "/counsellor/", headers=[(b"cookie", SESSION_COOKIE.encode() + b"=" + cookie)]
            )
            stage.check(response.status_code, f"cookie {cookie[:10]!r}")
            sent += 1
    return sent


# --- sockets --------------------------------------------------------------------


async def counsellor_socket(stage: Stage, query: str) -> ClientConnection:
    return await connect(
        f"{stage.server.ws}/counsellor/ws{query}",
        origin=Origin(stage.server.origin),
        additional_headers={"Cookie": f"{SESSION_COOKIE}={stage.admin.cookie}"},
    )


async def sweep_socket_queries(stage: Stage) -> int:
    """Each query parameter a socket reads, with each edge value: refused cleanly or
    served, never an internal error."""
    sent = 0
    for path, route in walk(stage.server.app.routes):
        if not isinstance(route, WebSocketRoute):
            continue
        for name in sorted(names_read(route.endpoint)):
            for label, edge in SOCKET_QUERY_EDGES.items():
                base = f"session={stage.held}&" if name != "session" else ""
                query = f"?{base}{_q(name)}={edge}"
                what = f"{path}{query[:60]} ({label})"
                try:
                    if path == "/ws/chat":
                        ws = await connect(
                            f"{stage.server.ws}{path}{query}", origin=Origin(stage.server.origin)
                        )
                        await ws.send(json.dumps({"type": "hello", "v": 1}))
                    else:
                        ws = await counsellor_socket(stage, query)
                except InvalidStatus as exc:
                    stage.check(exc.response.status_code, what)
                    continue
                try:
                    await ws.recv(decode=True)
                except ConnectionClosed as exc:
                    if exc.rcvd is None or exc.rcvd.code == 1011:
                        stage.failures.append(f"closed {exc.rcvd}: {what}")
                await ws.close()
                sent += 1
    return sent


TERMINAL = {"error", "ack", "rated"}


async def answer(ws: ClientConnection, what: str, stage: Stage) -> None:
    """Read until the frame's answer (an error, ack or rated frame)."""
    try:
        async with asyncio.timeout(5):
            while True:
                frame = json.loads(await ws.recv(decode=True))
                if frame["type"] in TERMINAL:
                    return
    except TimeoutError:
        stage.failures.append(f"no answer to {what}")
    except ConnectionClosed as exc:
        stage.failures.append(f"socket closed ({exc.rcvd}) after {what}")
        raise


def decodes(decode: Callable[[str], object], text: str) -> bool:
    try:
        decode(text)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return False
    return True


async def answered(
    stage: Stage, ws: ClientConnection, text: str, decode: Callable[[str], object], what: str
) -> None:
    """Send one frame, then a probe (an empty message, always answered with an error
    naming it): a refused frame must have had its error frame by then, and the socket
    must still be up."""
    probe = uuid.uuid4().hex
    await ws.send(text)
    await ws.send(json.dumps({"type": "say", "client_id": probe, "text": ""}))
    got: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(5):
            while not got or got[-1].get("client_id") != probe:
                got.append(json.loads(await ws.recv(decode=True)))
    except TimeoutError:
        stage.failures.append(f"no answer after {what}")
        return
    except ConnectionClosed as exc:
        stage.failures.append(f"socket closed ({exc.rcvd}) after {what}")
        raise
    if not decodes(decode, text) and not [f for f in got[:-1] if f["type"] == "error"]:
        stage.failures.append(f"no error frame for {what}")


async def sweep_frames(
    stage: Stage,
    ws: ClientConnection,
    union: Any,
    decode: Callable[[str], object],
    label: str,
) -> int:
    sent = 0
    types = frame_types(union)
    assert len(types) >= 2, union
    for cls in types:
        for name in [None, "type", *(i.encode_name for i in struct_fields(cls))]:
            for edge_label, raw in JSON_EDGES.items():
                what = f"{label} {cls.__name__}.{name or 'x'}={edge_label}"
                await answered(stage, ws, frame_text(cls, name, raw), decode, what)
                sent += 1
    # The whole frame nested inside arrays, and a valid frame with depth hidden in strings.
    for raw in ["[" * 5000 + "]" * 5000, json.dumps({"type": "say", "x": "[" * 100})]:
        await answered(stage, ws, raw, decode, f"{label} {raw[:20]}")
        sent += 1
    return sent


async def still_serves(stage: Stage) -> None:
    """The server, the person's socket and the admin's chat socket all still work."""
    async with httpx.AsyncClient(base_url=stage.server.http) as client:
        assert (await client.get("/healthz")).status_code == 200
    client_id = await stage.person.say("Still there?")
    await stage.person.recv_until(lambda f: f.get("client_id") == client_id)
    ws = await counsellor_socket(stage, f"?session={stage.held}")
    await ws.send(json.dumps({"type": "say", "client_id": "last", "text": "Yes, still here."}))
    await answer(ws, "the last counsellor message", stage)
    await ws.close()


# --- the tests ------------------------------------------------------------------


def assert_clean(stage: Stage, log: LogBook) -> None:
    """No 5xx, no dead socket, and nothing in the server's log but what is expected."""
    assert not stage.failures, "\n".join(stage.failures[:40])
    troubles = log.troubles()
    assert not [t for t in troubles if "Traceback" in t or "failed with" in t], troubles
    assert not [r for r in log.records if r.levelno >= logging.ERROR], troubles


@pytest.mark.timeout(300)
async def test_every_frame_type_of_both_sockets_is_answered_and_they_stay_up(
    stage: Stage,
) -> None:
    with server_log() as log:
        await stage.person.quiet(0.2)
        widget = await sweep_frames(
            stage, stage.person.ws, protocol.ClientFrame, protocol.decode_client_frame, "widget"
        )
        ws = await counsellor_socket(stage, f"?session={stage.held}")
        staff = await sweep_frames(
            stage, ws, counsellor_frames.CounsellorFrame, counsellor_frames.decode, "counsellor"
        )
        await ws.close()
        await still_serves(stage)
    assert_clean(stage, log)
    # The sweep reached what it should (a walk that found nothing would pass silently).
    assert widget > 300 and staff > 100, (widget, staff)


@pytest.mark.timeout(300)
async def test_every_socket_query_parameter_is_refused_cleanly_or_served(
    stage: Stage,
) -> None:
    with server_log() as log:
        sent = await sweep_socket_queries(stage)
        await still_serves(stage)
    assert_clean(stage, log)
    assert sent > 50, sent


@pytest.mark.timeout(600)
async def test_every_route_form_field_and_query_parameter_answers_below_500(
    stage: Stage,
) -> None:
    with server_log() as log:
        sent = await sweep_http(stage)
        await still_serves(stage)
    assert_clean(stage, log)
    assert sent > 1000, sent
