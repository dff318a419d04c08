"""Two gateway processes on one PostgreSQL database and one Redis, as deployed.

Each test starts two gateways (``python -m uvicorn gateway.app:create_app
--factory`` with ``HAVEN_*`` variables, as ``deploy/`` runs them) on a fresh
database and a Redis channel prefix of its own, and drives them only from
outside: the widget websocket, the counsellor pages (forms with their CSRF
token) and websocket, and SQL on the database for the assertions. A person
and the counsellors are deliberately spread over both processes, so that
everything they see has crossed Redis.

Covered: a person and a counsellor on different processes (messages, typing,
queue frames, the dashboard); a claim race between counsellors on both; a
transfer across them and the end with a wrap-up; one process SIGKILLed mid-chat
with both sides resuming on the other; Redis restarting under both; the
database timers (check-in, a dropped counsellor's grace, abandonment) firing
once although both processes poll them.

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (skipped
without them, except in CI). The Redis restart tests run a private
redis-server of their own on a free port, killed and started again there.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
import pytest_asyncio
from websockets.exceptions import ConnectionClosed

from tests.chat_client import ChatClient, Frame, is_ack, is_type
from tests.conftest import fresh_pg_database
from tests.multiprocess import (
    TYPING_OFF,
    WIDGET_ORIGIN,
    Counsellor,
    CounsellorSocket,
    GatewayProcess,
    Inspector,
    RedisProcess,
    ask_for_a_person,
    contiguous_seq,
    create_staff_accounts,
    eventually,
    gateway_environment,
    greeted_person,
    listen,
    offered,
    person_on,
    sign_in,
)
from tests.services import (
    PG_ADMIN_DB,
    PG_HOST,
    PG_PORT,
    PG_USER,
    REDIS_URL,
    missing,
    pg_url,
    port_open,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.postgres, pytest.mark.redis]

STAFF = [("sam", "Sam", "counsellor"), ("jo", "Jo", "counsellor")]
# The gateways poll their timers every 5 s (gateway/scheduler.py); a window this
# long after a timer fired holds at least one more poll of each process.
TIMER_POLL_WINDOW_S = 6.5


# --- fixtures ----------------------------------------------------------------------


def _admin(*statements: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    # Outside any running event loop (as tests/conftest.py does for its template).
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture(scope="module")
def staffed_template(pg_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The migrated template plus the staff accounts, made once with ``haven create-user``."""
    name = f"haven_test_two_processes_{os.getpid()}"
    _admin(
        f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'
    )
    try:
        create_staff_accounts(pg_url(name), tmp_path_factory.mktemp("staff"), STAFF)
        yield name
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest_asyncio.fixture
async def database(staffed_template: str) -> AsyncIterator[str]:
    async with fresh_pg_database(staffed_template) as url:
        yield url


@pytest.fixture
def db(database: str) -> Inspector:
    return Inspector(database)


class Cluster:
    """The processes a test started; every one is killed at teardown, pass or fail."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self.gateways_started: list[GatewayProcess] = []
        self.redis_started: list[RedisProcess] = []

    async def gateways(
        self, broker_url: str = REDIS_URL, **settings: object
    ) -> tuple[GatewayProcess, GatewayProcess]:
        """Two gateways on the same database and Redis, with channels of this test alone."""
        prefix = f"haven-test-two-{uuid.uuid4().hex}:"
        env = gateway_environment(self.database_url, self.data_dir, broker_url, prefix, **settings)
        a, b = GatewayProcess("A", env, self.data_dir), GatewayProcess("B", env, self.data_dir)
        self.gateways_started += [a, b]
        a.launch()
        b.launch()
        await asyncio.gather(a.wait_ready(), b.wait_ready())
        return a, b

    async def private_redis(self) -> RedisProcess:
        redis = RedisProcess(self.data_dir)
        self.redis_started.append(redis)
        await redis.start()
        return redis

    def close(self) -> None:
        for gateway in self.gateways_started:
            gateway.kill()
        for redis in self.redis_started:
            redis.kill()
        for gateway in self.gateways_started:
            log = gateway.log_text().strip()
            if log:  # shown by pytest when the test failed
                print(f"--- log of gateway {gateway.name} ---\n{log[-6000:]}")


@pytest.fixture
def cluster(database: str, tmp_path: Path) -> Iterator[Cluster]:
    address = urlsplit(REDIS_URL)
    if not port_open(address.hostname or "127.0.0.1", address.port or 6379):
        missing(f"Redis at {REDIS_URL}")
    started = Cluster(database, tmp_path)
    try:
        yield started
    finally:
        started.close()


# --- helpers -------------------------------------------------------------------------


LIVE_WITH_SAM = {"state": "live", "counsellor": "Sam"}


def is_state(state: str, counsellor: str | None = None) -> Callable[[Frame], bool]:
    return lambda f: f == {"type": "state", "state": state, "counsellor": counsellor}


def is_message(seq: int) -> Callable[[Frame], bool]:
    return lambda f: f["type"] == "message" and f["seq"] == seq


def has_seq(seq: int) -> Callable[[Frame], bool]:
    return lambda f: f.get("seq") == seq


def message_seqs(frames: list[Frame]) -> list[int]:
    return [f["seq"] for f in frames if f["type"] == "message"]


async def queued_person(gateway: GatewayProcess, db: Inspector) -> tuple[ChatClient, int]:
    """A new person on ``gateway`` who asked for a counsellor, and their session id."""
    person = await greeted_person(gateway)
    await ask_for_a_person(person)
    assert person.token is not None
    return person, (await db.session_of(person.token))["id"]


async def claim(counsellor: Counsellor, gateway: GatewayProcess, session_id: int) -> None:
    response = await counsellor.post(gateway, f"/counsellor/sessions/{session_id}/claim")
    assert response.status_code == 303
    assert response.headers["location"] == f"/counsellor/sessions/{session_id}"


async def counsellor_says(chat: CounsellorSocket, client_id: str, text: str) -> int:
    await chat.send({"type": "say", "client_id": client_id, "text": text})
    ack = await chat.recv_until(lambda f: f["type"] == "ack" and f["client_id"] == client_id)
    return int(ack[-1]["seq"])


async def person_says(person: ChatClient, text: str, client_id: str | None = None) -> int:
    cid = await person.say(text, client_id=client_id)
    return int((await person.recv_until(is_ack(cid)))[-1]["seq"])


async def opened_chat(
    counsellor: Counsellor, gateway: GatewayProcess, session_id: int, db: Inspector
) -> CounsellorSocket:
    """The counsellor's chat socket, once it has sent the transcript stored so far."""
    stored = (await db.session(session_id))["last_seq"]
    chat = await counsellor.socket(gateway, session_id)
    history = await chat.recv_until(is_message(stored))
    assert message_seqs(history) == list(range(1, stored + 1))
    return chat


# --- a. a person on one process, a counsellor on the other ---------------------------


async def test_a_person_on_one_process_and_a_counsellor_on_the_other_hear_each_other(
    cluster: Cluster, db: Inspector
) -> None:
    a, b = await cluster.gateways(heartbeat_s=60)  # what arrives, arrives through Redis
    sam = await sign_in(b, "sam")
    dashboard = await sam.socket(b)
    assert (await dashboard.recv_until(is_type("queue")))[-1]["rows"] == []

    # Someone on B asks first; then the person on A, who is second in the queue.
    first, first_id = await queued_person(b, db)
    await dashboard.recv_until(lambda f: f["type"] == "queue" and len(f["rows"]) == 1)
    person = await greeted_person(a)
    asked = await ask_for_a_person(person)
    assert {"type": "state", "state": "queued", "counsellor": None} in asked
    queued = asked[-1]
    assert queued["position"] == 2 and queued["counsellors_available"] >= 1
    assert queued["alternatives"]
    assert person.token is not None
    session_id = (await db.session_of(person.token))["id"]
    # The dashboard on B hears of the escalation on A.
    update = await dashboard.recv_until(lambda f: f["type"] == "queue" and len(f["rows"]) == 2)
    assert [row["session_id"] for row in update[-1]["rows"]] == [first_id, session_id]

    # A claim on B moves the person on A up: a fresh queue frame crosses the processes.
    await claim(sam, b, first_id)
    await person.recv_until(lambda f: f["type"] == "queue" and f["position"] == 1)

    await claim(sam, b, session_id)
    joined = await person.recv_until(is_type("state"))
    assert joined[-1] == {"type": "state", **LIVE_WITH_SAM}
    chat = await opened_chat(sam, b, session_id, db)

    # The counsellor on B writes; the person on A reads it.
    seq = await counsellor_says(chat, "sam-1", "Hi, I'm Sam.")
    heard = (await person.recv_until(has_seq(seq)))[-1]
    assert heard["type"] == "message" and heard["from"] == "counsellor"
    assert (heard["name"], heard["text"]) == ("Sam", "Hi, I'm Sam.")
    # The person on A writes; the counsellor on B reads it.
    cid = await person.say("hello Sam")
    seq = (await person.recv_until(is_ack(cid)))[-1]["seq"]
    said = (await chat.recv_until(is_message(seq)))[-1]
    assert (said["sender"], said["text"], said["client_id"]) == ("user", "hello Sam", cid)

    # Typing, both ways.
    for on in (True, False):
        await chat.send({"type": "typing", "on": on})
        typing = (await person.recv_until(is_type("typing")))[-1]
        assert typing == {"type": "typing", "from": "counsellor", "on": on}
        await person.send({"type": "typing", "on": on})
        typing = (await chat.recv_until(is_type("typing")))[-1]
        assert typing == {"type": "typing", "session_id": session_id, "on": on}

    lines = await db.gap_free(session_id)
    assert [m["text"] for m in lines[-2:]] == ["Hi, I'm Sam.", "hello Sam"]
    for ws in (dashboard, chat):
        await ws.close()
    for client in (first, person):
        await client.close()


# --- b. a claim race between the processes ----------------------------------------------


async def test_two_counsellors_on_two_processes_claim_at_once_and_exactly_one_wins(
    cluster: Cluster, db: Inspector
) -> None:
    a, b = await cluster.gateways(counsellor_max_chats=10)
    sam, jo = await asyncio.gather(sign_in(a, "sam"), sign_in(b, "jo"))
    ids = {"Sam": await db.staff_id("sam"), "Jo": await db.staff_id("jo")}
    people = [await queued_person(gateway, db) for gateway in (a, b, a, b)]

    for person, session_id in people:
        before = (await db.session(session_id))["last_seq"]
        path = f"/counsellor/sessions/{session_id}"
        responses = await asyncio.gather(sam.post(a, f"{path}/claim"), jo.post(b, f"{path}/claim"))
        assert [r.status_code for r in responses] == [303, 303]
        locations = [r.headers["location"] for r in responses]
        won = [name for name, where in zip(("Sam", "Jo"), locations, strict=True) if where == path]
        assert len(won) == 1, locations
        (winner,) = won
        (lost,) = [urlsplit(where) for where in locations if where != path]
        # The loser is sent to the chat's glance page and told who won.
        assert lost.path == path and winner in parse_qs(lost.query)["notice"][0]

        row = await db.session(session_id)
        assert (row["state"], row["counsellor_id"]) == ("live", ids[winner])
        # One claim happened: one line saying who joined, one state change for the person.
        lines = await db.gap_free(session_id)
        assert [m["sender"] for m in lines[before:]] == ["system"]
        frames = await person.recv_until(is_type("state"))
        frames += await person.quiet(0.3)
        states = [f for f in frames if f["type"] == "state"]
        assert states == [{"type": "state", "state": "live", "counsellor": winner}], frames
        # Only the winner may open the conversation, on either process.
        loser = jo if winner == "Sam" else sam
        holder = sam if winner == "Sam" else jo
        assert (await holder.get(b, path)).status_code == 200
        assert (await loser.get(a, path)).status_code == 403
    for person, _ in people:
        await person.close()


# --- c. transfer across the processes, then end with a wrap-up ------------------------


async def test_a_transfer_to_a_counsellor_on_the_other_process_then_the_end(
    cluster: Cluster, db: Inspector
) -> None:
    a, b = await cluster.gateways(heartbeat_s=60)
    sam, jo = await asyncio.gather(sign_in(a, "sam"), sign_in(b, "jo"))
    jos_dashboard = await jo.socket(b)
    await jos_dashboard.recv_until(is_type("queue"))
    person, session_id = await queued_person(a, db)
    path = f"/counsellor/sessions/{session_id}"
    await claim(sam, a, session_id)
    await person.recv_until(is_state(**LIVE_WITH_SAM))
    sams_chat = await opened_chat(sam, a, session_id, db)

    jo_id = await db.staff_id("jo")
    offered = await sam.post(a, f"{path}/transfer", to=str(jo_id), note="Exams next week.")
    assert offered.status_code == 303
    assert urlsplit(offered.headers["location"]).path == path, offered.headers
    # Jo on B reads the offer and its note; accepting it on B moves the chat.
    offer = await jos_dashboard.recv_until(is_type("transfer_offer"))
    assert (offer[-1]["status"], offer[-1]["note"]) == ("offered", "Exams next week.")
    accepted = await jo.post(b, f"{path}/transfer/accept")
    assert urlsplit(accepted.headers["location"]).path == path, accepted.headers
    # The person sees the new counsellor; Jo on B is told; Sam's socket on A lets go.
    told = await person.recv_until(is_state("live", "Jo"))
    assert any(f["type"] == "message" and f["from"] == "system" for f in told)
    handed = await jos_dashboard.recv_until(is_type("transferred"))
    assert handed[-1] == {"type": "transferred", "session_id": session_id, "from_name": "Sam"}
    released = await sams_chat.recv_until(is_type("state"))
    assert released[-1] == {
        "type": "state",
        "session_id": session_id,
        "state": "live",
        "mine": False,
        "counsellor": "Jo",
    }
    row = await db.session(session_id)
    assert (row["state"], row["counsellor_id"]) == ("live", jo_id)

    jos_chat = await opened_chat(jo, b, session_id, db)
    seq = await counsellor_says(jos_chat, "jo-1", "Hi, I'm Jo.")
    heard = (await person.recv_until(has_seq(seq)))[-1]
    assert (heard["from"], heard["name"], heard["text"]) == ("counsellor", "Jo", "Hi, I'm Jo.")
    seq = await person_says(person, "hi Jo")
    assert (await jos_chat.recv_until(is_message(seq)))[-1]["text"] == "hi Jo"
    assert not [f for f in await sams_chat.quiet(0.3) if f["type"] in ("message", "typing")]

    # Only the holder ends it, after the wrap-up form (on B, the person being on A).
    form = await jo.get(b, f"{path}/wrap-up")
    assert form.status_code == 200
    outcome = html.unescape(re.findall(r'name="outcome" value="([^"]+)"', form.text)[0])
    risk = html.unescape(re.findall(r'name="risk_level" value="([^"]+)"', form.text)[0])
    wrap_up = {"outcome": outcome, "risk_level": risk, "notes": "Talked about exams."}
    assert (await sam.post(a, f"{path}/end", **wrap_up)).status_code == 403
    ended = await jo.post(b, f"{path}/end", **wrap_up)
    assert ended.status_code == 303
    assert urlsplit(ended.headers["location"]).path == "/counsellor/", ended.headers
    closing = await person.recv_until(is_type("state"))
    assert closing[-1] == {"type": "state", "state": "closed", "counsellor": None}
    assert any(f["type"] == "message" and f["from"] == "system" for f in closing)
    await person.send({"type": "ask_counsellor"})
    assert (await person.recv_until(is_type("error")))[-1]["code"] == "closed"

    row = await db.session(session_id)
    assert row["state"] == "closed" and row["closed_at"] is not None
    (saved,) = await db.fetch(
        "SELECT w.staff_id, o.outcome, w.risk_level, w.notes FROM wrap_ups w"
        " JOIN wrap_up_outcomes o ON o.session_id = w.session_id WHERE w.session_id = $1",
        session_id,
    )
    assert dict(saved) == {"staff_id": jo_id, **wrap_up}
    await db.gap_free(session_id)
    for ws in (jos_dashboard, sams_chat, jos_chat):
        await ws.close()
    await person.close()


# --- d. one process killed mid-chat ------------------------------------------------------


async def test_a_process_killed_mid_chat_both_sides_resume_on_the_other(
    cluster: Cluster, db: Inspector
) -> None:
    a, b = await cluster.gateways()
    sam = await sign_in(b, "sam")
    person, session_id = await queued_person(a, db)
    await claim(sam, a, session_id)
    await person.recv_until(is_state(**LIVE_WITH_SAM))
    chat = await opened_chat(sam, a, session_id, db)  # both sides on A

    person_acked: dict[str, int] = {}
    sam_acked: dict[str, int] = {}
    for n in (1, 2):
        cid = f"person-{n}-{uuid.uuid4().hex[:8]}"
        person_acked[cid] = await person_says(person, f"person line {n}", cid)
        await chat.recv_until(is_message(person_acked[cid]))
        sam_acked[f"sam-{n}"] = await counsellor_says(chat, f"sam-{n}", f"sam line {n}")
        await person.recv_until(has_seq(sam_acked[f"sam-{n}"]))

    # When the process dies, each side has two lines without an ack: one that the
    # gateway stored (its ack is lost with the connection), one that may never have
    # arrived. Frames not yet read by a client are lost with the connection too.
    unacked = {
        "person": [(f"person-stored-{uuid.uuid4().hex[:8]}", "person, stored")],
        "sam": [("sam-stored", "sam, stored")],
    }
    await person.say("person, stored", client_id=unacked["person"][0][0])
    await chat.send({"type": "say", "client_id": "sam-stored", "text": "sam, stored"})

    async def both_stored() -> bool:
        ids = {m["client_id"] for m in await db.messages(session_id)}
        return {unacked["person"][0][0], "sam-stored"} <= ids

    await eventually(both_stored, what="the two lines stored")
    unacked["person"].append((await person.say("person, in flight"), "person, in flight"))
    await chat.send({"type": "say", "client_id": "sam-in-flight", "text": "sam, in flight"})
    unacked["sam"].append(("sam-in-flight", "sam, in flight"))
    a.kill()
    person_before, sam_before = list(person.seen), list(chat.seen)
    person_last = contiguous_seq(person_before)
    sam_last = contiguous_seq(sam_before)

    # Both reconnect to B: the widget with its token and last_seq, the counsellor with after=.
    resumed = await person_on(b, token=person.token, last_seq=person_last)
    assert resumed.welcome is not None and resumed.welcome["state"] == "live"
    stored = resumed.welcome["last_seq"]
    assert stored > person_last  # at least the two stored lines
    await resumed.recv_until(has_seq(stored))
    await resumed.recv_until(is_state(**LIVE_WITH_SAM))
    sams_resumed = await sam.socket(b, session_id, after=sam_last)
    await sams_resumed.recv_until(is_message(stored))

    # Each resends what it had no ack for, with the same client_id; then both write more.
    for cid, text in unacked["person"]:
        person_acked[cid] = await person_says(resumed, text, cid)
    for cid, text in unacked["sam"]:
        sam_acked[cid] = await counsellor_says(sams_resumed, cid, text)
    cid = f"person-after-{uuid.uuid4().hex[:8]}"
    person_acked[cid] = await person_says(resumed, "after the crash", cid)
    sam_acked["sam-after"] = await counsellor_says(sams_resumed, "sam-after", "still here")
    last = sam_acked["sam-after"]
    await resumed.recv_until(has_seq(last))
    await sams_resumed.recv_until(is_message(last))
    person_after = resumed.seen + await resumed.quiet(0.3)
    sam_after = sams_resumed.seen + await sams_resumed.quiet(0.3)

    # Stored: gap-free, every acknowledged message exactly once, under its acked seq.
    lines = await db.gap_free(session_id)
    assert len(lines) == last
    for sender, acked in (("user", person_acked), ("counsellor", sam_acked)):
        stored_ids = [m["client_id"] for m in lines if m["sender"] == sender]
        assert len(stored_ids) == len(set(stored_ids)), stored_ids
        for client_id, seq in acked.items():
            assert [m["seq"] for m in lines if m["client_id"] == client_id] == [seq]
    # A line stored before the kill kept its seq: the resend was acknowledged with it,
    # and the resumed connections had already been sent it (the widget's with its client_id).
    replayed = {f["seq"]: f for f in person_after if f["type"] == "message"}
    stored_cid = unacked["person"][0][0]
    assert replayed[person_acked[stored_cid]]["client_id"] == stored_cid
    assert sam_acked["sam-stored"] in message_seqs(sam_after)

    # The widget: after resuming, every seq after its last_seq once, in order; together
    # with what it had shown, every seq (its own as acks), none shown twice as a message.
    resumed_seqs = message_seqs(person_after)
    assert resumed_seqs == sorted(set(resumed_seqs))
    assert all(seq > person_last for seq in resumed_seqs)
    assert not set(resumed_seqs) & set(message_seqs(person_before))
    shown = {f["seq"] for f in person_before + person_after if f["type"] in ("message", "ack")}
    assert shown == set(range(1, last + 1))
    # The counsellor is sent every line as a message, its own too: after=N resumes at
    # N + 1, so with what it had (its own acked lines among them) it has every seq once.
    assert message_seqs(sam_after) == list(range(sam_last + 1, last + 1))
    assert not set(message_seqs(sam_after)) & set(message_seqs(sam_before))
    shown = {f["seq"] for f in sam_before + sam_after if f["type"] in ("message", "ack")}
    assert shown == set(range(1, last + 1))
    await resumed.close()
    await sams_resumed.close()


# --- e. Redis restarts under the two processes -----------------------------------------


RECONNECT_ERRORS = (ConnectionClosed, OSError, TimeoutError)


async def backoff(attempt: int) -> None:
    """The growing delay PROTOCOL.md asks of a client between reconnections."""
    await asyncio.sleep(min(0.1 * 2**attempt, 2.0))


class Widget:
    """A person's widget that behaves as PROTOCOL.md asks after a drop: resume and resend."""

    def __init__(self, gateway: GatewayProcess, client: ChatClient) -> None:
        self.gateway = gateway
        self.connections = [client]
        self.token = client.token

    @property
    def client(self) -> ChatClient:
        return self.connections[-1]

    @property
    def frames(self) -> list[Frame]:
        return [f for c in self.connections for f in c.seen]

    async def resume(self) -> None:
        for attempt in range(12):
            try:
                client = await ChatClient.open(self.gateway.ws, WIDGET_ORIGIN)
                await client.hello(token=self.token, last_seq=contiguous_seq(self.frames))
            except RECONNECT_ERRORS:
                await backoff(attempt)
                continue
            self.connections.append(client)
            return
        raise AssertionError("the widget could not resume")

    async def say(self, text: str, client_id: str) -> int:
        for attempt in range(12):
            try:
                return await person_says(self.client, text, client_id)
            except RECONNECT_ERRORS:
                await backoff(attempt)
                await self.resume()
        raise AssertionError(f"{text!r} was never acknowledged")

    async def listen(self, seconds: float) -> list[Frame]:
        got = await listen(self.client, seconds)
        if self.client.ws.close_code is not None:
            await self.resume()
        return got


class CounsellorChat:
    """The counsellor's chat socket, reopened with ``after=`` when it drops."""

    def __init__(
        self,
        counsellor: Counsellor,
        gateway: GatewayProcess,
        session_id: int,
        first: CounsellorSocket,
    ) -> None:
        self.counsellor = counsellor
        self.gateway = gateway
        self.session_id = session_id
        self.connections = [first]

    @property
    def socket(self) -> CounsellorSocket:
        return self.connections[-1]

    @property
    def frames(self) -> list[Frame]:
        return [f for c in self.connections for f in c.seen]

    async def reopen(self) -> None:
        after = contiguous_seq(self.frames)
        self.connections.append(
            await self.counsellor.socket(self.gateway, self.session_id, after=after)
        )

    async def say(self, client_id: str, text: str) -> int:
        for attempt in range(12):
            try:
                return await counsellor_says(self.socket, client_id, text)
            except RECONNECT_ERRORS:
                await backoff(attempt)
                await self.reopen()
        raise AssertionError(f"{text!r} was never acknowledged")

    async def listen(self, seconds: float) -> list[Frame]:
        got = await listen(self.socket, seconds)
        if self.socket.ws.close_code is not None:
            await self.reopen()
        return got


async def heard_within(
    side: Widget | CounsellorChat, predicate: Callable[[Frame], bool], timeout: float
) -> bool:
    """Whether a frame matching ``predicate`` has arrived, or arrives within ``timeout``."""
    deadline = time.monotonic() + timeout
    while not any(predicate(f) for f in side.frames):
        if time.monotonic() > deadline:
            return False
        await side.listen(0.25)
    return True


async def caught_up(side: Widget | CounsellorChat, last_seq: int, timeout: float) -> bool:
    """Whether the side has been sent everything up to ``last_seq`` (reading on meanwhile)."""
    return await heard_within(
        side, lambda f: contiguous_seq(side.frames) >= last_seq, timeout=timeout
    )


async def test_messages_flow_between_the_processes_again_after_redis_restarts(
    cluster: Cluster, db: Inspector
) -> None:
    redis = await cluster.private_redis()
    # A slow heartbeat: what arrives, arrives through Redis, not the heartbeat's re-read.
    a, b = await cluster.gateways(broker_url=redis.url, heartbeat_s=60)
    sam = await sign_in(b, "sam")
    client, session_id = await queued_person(a, db)
    await claim(sam, b, session_id)
    await client.recv_until(is_state(**LIVE_WITH_SAM))
    person = Widget(a, client)
    chat = CounsellorChat(sam, b, session_id, await opened_chat(sam, b, session_id, db))
    seq = await chat.say("sam-0", "before the restart")
    await person.client.recv_until(has_seq(seq))
    seq = await person.say("me too", "person-0")
    await chat.socket.recv_until(is_message(seq))

    redis.kill()
    await redis.start()  # same port, empty: every subscription has to be made again

    # Counsellor (B) to person (A): write until a line arrives (the processes
    # reconnect to Redis in their own time), then every line arrives once, in order.
    sent: list[str] = []
    got: list[Frame] = []
    deadline = time.monotonic() + 30
    while not any(f.get("from") == "counsellor" for f in got):
        assert time.monotonic() < deadline, "nothing reached the person after the restart"
        sent.append(f"line {len(sent) + 1}")
        await chat.say(f"sam-{len(sent)}", sent[-1])
        got += await person.listen(0.3)
    last = (await db.session(session_id))["last_seq"]
    assert await caught_up(person, last, timeout=10), "the person did not catch up"
    heard = [
        f["text"]
        for f in person.frames
        if f["type"] == "message" and f["from"] == "counsellor" and f["seq"] > seq
    ]
    assert heard == sent

    # Person (A) to counsellor (B), the same.
    replies: list[str] = []
    got = []
    deadline = time.monotonic() + 30
    while not any(f.get("sender") == "user" and f["text"] in replies for f in got):
        assert time.monotonic() < deadline, "nothing reached the counsellor after the restart"
        replies.append(f"reply {len(replies) + 1}")
        await person.say(replies[-1], f"person-{len(replies)}")
        got += await chat.listen(0.3)
    last = (await db.session(session_id))["last_seq"]
    assert await caught_up(chat, last, timeout=10), "the counsellor did not catch up"
    users = [f["text"] for f in chat.frames if f["type"] == "message" and f["sender"] == "user"]
    assert users[users.index("me too") + 1 :] == replies

    lines = await db.gap_free(session_id)
    assert [m["text"] for m in lines if m["sender"] == "counsellor"][1:] == sent
    print(
        f"reconnections after the Redis restart: widget {len(person.connections) - 1}, "
        f"counsellor {len(chat.connections) - 1}"
    )
    await person.client.close()
    await chat.socket.close()


async def test_after_redis_restarts_the_first_line_is_acknowledged_on_its_connection(
    cluster: Cluster, db: Inspector
) -> None:
    redis = await cluster.private_redis()
    a, b = await cluster.gateways(broker_url=redis.url, heartbeat_s=60)
    sam = await sign_in(b, "sam")
    person, session_id = await queued_person(a, db)
    await claim(sam, b, session_id)
    await person.recv_until(is_state(**LIVE_WITH_SAM))
    chat = await opened_chat(sam, b, session_id, db)
    seq = await person_says(person, "before the restart")
    await chat.recv_until(is_message(seq))

    redis.kill()
    await redis.start()
    # Time for the processes to reconnect: their subscriptions retry every second.
    await asyncio.sleep(3)
    try:
        seq = await person_says(person, "first line after the restart", "person-first")
    except ConnectionClosed as closed:
        raise AssertionError(f"the line was not acknowledged; closed with {closed}") from None
    assert (await chat.recv_until(is_message(seq)))[-1]["client_id"] == "person-first"
    await person.close()
    await chat.close()


async def closed_or_acked(client: ChatClient | CounsellorSocket, client_id: str) -> None:
    """Read on until the gateway acknowledges ``client_id`` or drops the connection."""
    with contextlib.suppress(ConnectionClosed):
        await client.recv_until(
            lambda f: f["type"] == "ack" and f["client_id"] == client_id, timeout=60
        )


@pytest.mark.parametrize(
    "writer",
    [
        "person",
        "counsellor",
    ],
)
async def test_a_line_whose_event_is_lost_to_a_redis_outage_still_reaches_the_other_side(
    cluster: Cluster, db: Inspector, writer: str
) -> None:
    redis = await cluster.private_redis()
    # A short heartbeat: each beat, a connection may re-read what a lost event said.
    a, b = await cluster.gateways(broker_url=redis.url, heartbeat_s=1)
    sam = await sign_in(b, "sam")
    client, session_id = await queued_person(a, db)
    await claim(sam, b, session_id)
    await client.recv_until(is_state(**LIVE_WITH_SAM))
    person = Widget(a, client)  # on A
    chat = CounsellorChat(sam, b, session_id, await opened_chat(sam, b, session_id, db))  # on B

    redis.kill()
    # One side writes while Redis is down. The database is up, so the line is stored,
    # but its event cannot be published. The gateway either acknowledges it anyway or
    # drops the connection (1011); Redis comes back only after one or the other.
    text, client_id = f"{writer} wrote this while Redis was down", f"{writer}-down"
    if writer == "person":
        await person.client.say(text, client_id=client_id)
        await closed_or_acked(person.client, client_id)
    else:
        await chat.socket.send({"type": "say", "client_id": client_id, "text": text})
        await closed_or_acked(chat.socket, client_id)
    stored = {m["client_id"]: m["seq"] for m in await db.messages(session_id)}
    assert client_id in stored
    await redis.start()
    # The client resends until acknowledged, with the same client_id: stored once.
    if writer == "person":
        seq = await person.say(text, client_id)
    else:
        seq = await chat.say(client_id, text)
    assert seq == stored[client_id]

    # Nothing else is said; the line must still reach the other side, within a few
    # heartbeats: "a lost event delays a frame; it never loses one".
    if writer == "counsellor":
        heard = await heard_within(person, has_seq(seq), timeout=6)
    else:
        heard = await heard_within(chat, is_message(seq), timeout=6)
    assert heard, f"the {writer}'s line (seq {seq}) never reached the other side"
    await db.gap_free(session_id)
    await person.client.close()
    await chat.socket.close()


# --- f. timers fire once although both processes run them --------------------------------


async def consented_person(gateway: GatewayProcess) -> ChatClient:
    """A person who said yes to the bot's opening question (which starts the check-ins)."""
    person = await person_on(gateway)
    greeting = await person.recv_until(lambda f: f == TYPING_OFF)
    yes = next(r for f in greeting if (r := offered(f, "Yes, continue")) is not None)
    await person.say(yes["label"], value=yes["value"])
    await person.recv_until(lambda f: f == TYPING_OFF)
    return person


async def test_timers_fire_once_with_two_processes_polling(cluster: Cluster, db: Inspector) -> None:
    checkin_after_s = 2.0
    a, b = await cluster.gateways(
        heartbeat_s=1,
        checkin_after_s=checkin_after_s,
        max_checkins=2,
        counsellor_grace_s=3,
        queue_abandon_s=3,
    )
    # Grace: Sam (on B) claims a person on A, then his workspace goes away for good.
    sam = await sign_in(b, "sam")
    dashboard = await sam.socket(b)
    await dashboard.recv_until(is_type("queue"))
    dropped, dropped_id = await queued_person(a, db)
    await claim(sam, b, dropped_id)
    await dropped.recv_until(is_state(**LIVE_WITH_SAM))
    await dashboard.close()
    dropped_mark = (await db.session(dropped_id))["last_seq"]

    # Abandonment: a person on each process joins the queue and goes.
    gone: dict[int, int] = {}
    for gateway in (a, b):
        person, session_id = await queued_person(gateway, db)
        await person.close()
        gone[session_id] = (await db.session(session_id))["last_seq"]

    # Check-ins: a person on each process consents, then says nothing; the first
    # has a second tab open on the other process.
    quiet: dict[int, tuple[ChatClient, int]] = {}
    for gateway in (a, b):
        person = await consented_person(gateway)
        assert person.token is not None
        row = await db.session_of(person.token)
        assert row["last_seq"] == contiguous_seq(person.seen)
        quiet[row["id"]] = (person, row["last_seq"])
    first_quiet, first_mark = next(iter(quiet.values()))
    other_tab = await person_on(b, token=first_quiet.token, last_seq=first_mark)

    async def new_lines(session_id: int, mark: int) -> list[asyncpg.Record]:
        return [m for m in await db.messages(session_id) if m["seq"] > mark]

    async def checkins_at_least(n: int) -> bool:
        return all([len(await new_lines(i, mark)) >= n for i, (_, mark) in quiet.items()])

    async def grace_and_abandonment_fired() -> bool:
        states = [(await db.session(i))["state"] for i in (dropped_id, *gone)]
        return states == ["queued", "abandoned", "abandoned"]

    # What the people still connected see, collected while the timers fire.
    watched = [dropped, other_tab, *(person for person, _ in quiet.values())]
    listening = [asyncio.ensure_future(listen(client, 60)) for client in watched]
    try:
        await eventually(grace_and_abandonment_fired, timeout=30, what="grace and abandonment")
        fired_at = time.monotonic()
        await eventually(lambda: checkins_at_least(2), timeout=30, what="two check-ins each")
        # Room for a second firing by the other process to show up: at least one
        # more poll of each process after the last timer fired.
        await asyncio.sleep(max(0.0, fired_at + TIMER_POLL_WINDOW_S - time.monotonic()))
    finally:
        for task in listening:
            task.cancel()
        await asyncio.gather(*listening, return_exceptions=True)  # frames stay in .seen

    # The dropped counsellor's chat went back to the queue once: one line, one change.
    row = await db.session(dropped_id)
    assert (row["state"], row["counsellor_id"]) == ("queued", None)
    assert [m["sender"] for m in await new_lines(dropped_id, dropped_mark)] == ["system"]
    after_live = dropped.seen[dropped.seen.index({"type": "state", **LIVE_WITH_SAM}) + 1 :]
    assert [f for f in after_live if f["type"] == "state"] == [
        {"type": "state", "state": "queued", "counsellor": None}
    ]
    assert len(message_seqs(after_live)) == 1
    # Each person who left was counted as gone once.
    for session_id, mark in gone.items():
        assert (await db.session(session_id))["state"] == "abandoned"
        assert [m["sender"] for m in await new_lines(session_id, mark)] == ["system"]
    # Check-ins: max_checkins of them, each at least checkin_after_s after the one
    # before (one check-in fired by both processes would come twice at once).
    for session_id, (person, mark) in quiet.items():
        checkins = await new_lines(session_id, mark)
        assert [m["sender"] for m in checkins] == ["bot", "bot"], checkins
        first_at, second_at = (m["created_at"] for m in checkins)
        assert (second_at - first_at).total_seconds() >= checkin_after_s, checkins
        # Shown once on each tab, whichever process fired the timer.
        wanted = [m["seq"] for m in checkins]
        tabs = [person, other_tab] if person is first_quiet else [person]
        for tab in tabs:
            assert [s for s in message_seqs(tab.seen) if s > mark] == wanted
    for client in watched:
        await client.close()
