"""The hot path of a live chat (gateway/appender*.py), on a real SQLite file and PostgreSQL.

It must keep every rule of the ordinary unit of work: stored once per client id,
gap-free seq shared with every other writer, only in the state asked for (and, for
a counsellor, only in their own chat), durable before it returns, and a failed
batch fails every message in it and writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select

from gateway.actions.conversation import person_says
from gateway.actions.messages import NotYourSession, post_counsellor_message
from gateway.actions.queue import claim_session
from gateway.actions.records import add_system_message, lock_session
from gateway.app import build_bot
from gateway.appender import Append, SQLiteAppender
from gateway.appender_postgres import PostgresAppender
from gateway.broker import MemoryBroker
from gateway.db import Database
from gateway.events import MessageAdded, session_channel
from gateway.models import ChatSession, Message, Staff
from gateway.services import Services
from gateway.types import Priority, SessionState
from tests.conftest import make_settings
from tests.factories import make_queued_session, make_staff

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def fast(database_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    """Services with the database's appender, as the application builds them."""
    settings = make_settings(database_url, tmp_path)
    db = Database(settings.effective_database_url)
    url = settings.effective_database_url
    appender = SQLiteAppender.for_url(url, db.writer) or PostgresAppender.for_url(url)
    assert appender is not None
    svc = Services(
        settings=settings, db=db, broker=MemoryBroker(), bot=build_bot(settings), appender=appender
    )
    try:
        yield svc
    finally:
        await appender.close()
        await db.dispose()


async def live_chat(svc: Services) -> tuple[int, int]:
    chat = await make_queued_session(svc)
    sam = await make_staff(svc, name="Sam")
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).won
    return chat.id, sam.id


async def stored(svc: Services, session_id: int) -> list[tuple[int, str, str | None]]:
    async with svc.read() as session:
        rows = await session.execute(
            select(Message.seq, Message.sender, Message.client_id)
            .where(Message.session_id == session_id)
            .order_by(Message.seq)
        )
        return [(int(seq), str(sender), client_id) for seq, sender, client_id in rows.all()]


async def ddl(svc: Services, statement: str) -> None:
    async with svc.db.engine.begin() as connection:
        await connection.exec_driver_sql(statement)


async def test_only_sqlite_files_get_an_appender() -> None:
    writer = Database("sqlite+aiosqlite:///unused.db").writer
    assert SQLiteAppender.for_url("sqlite+aiosqlite:///data/haven.db", writer) is not None
    assert SQLiteAppender.for_url("sqlite+aiosqlite:///:memory:", writer) is None
    assert SQLiteAppender.for_url("postgresql+asyncpg://x@localhost/test", writer) is None
    assert PostgresAppender.for_url("postgresql+asyncpg://x@localhost/test") is not None
    assert PostgresAppender.for_url("sqlite+aiosqlite:///data/haven.db") is None


async def test_both_sides_of_a_live_chat_are_stored_once_in_order_with_their_events(
    fast: Services,
) -> None:
    session_id, staff_id = await live_chat(fast)
    events: list[MessageAdded] = []
    async with fast.broker.subscribe(session_channel(session_id)) as subscription:
        first = await person_says(fast, session_id=session_id, client_id="p1", text="hello")
        again = await person_says(fast, session_id=session_id, client_id="p1", text="hello")
        assert (again.seq, again.duplicate) == (first.seq, True)
        async with fast.read() as session:
            sam = await session.get(Staff, staff_id)
        assert sam is not None
        reply = await post_counsellor_message(
            fast, session_id=session_id, staff=sam, client_id="s1", text="hi, I'm Sam"
        )
        assert reply == first.seq + 1
        assert (
            await post_counsellor_message(
                fast, session_id=session_id, staff=sam, client_id="s1", text="hi, I'm Sam"
            )
            == reply
        )
        while len(events) < 2:
            item = await subscription.get()
            if isinstance(item, MessageAdded):
                events.append(item)
    assert [(e.seq, e.sender, e.client_id) for e in events] == [
        (first.seq, "user", "p1"),
        (reply, "counsellor", "s1"),
    ]
    assert events[1].counsellor_name == "Sam" and events[0].text == "hello"
    lines = await stored(fast, session_id)
    assert [seq for seq, _sender, _cid in lines] == list(range(1, len(lines) + 1))
    assert [cid for _seq, _sender, cid in lines if cid] == ["p1", "s1"]


async def test_outside_a_live_chat_nothing_is_written_and_the_ordinary_path_answers(
    fast: Services,
) -> None:
    waiting = await make_queued_session(fast)
    assert fast.appender is not None
    done = await fast.appender.append(
        Append(waiting.id, ("live",), "user", "anyone there?", "q1", person_seen=True),
        fast.clock(),
    )
    assert not done.stored and not done.duplicate
    assert await stored(fast, waiting.id) == []
    # person_says then stores it through the unit of work, in the queued state.
    said = await person_says(fast, session_id=waiting.id, client_id="q1", text="anyone there?")
    assert said.state == SessionState.QUEUED and not said.duplicate
    assert (await stored(fast, waiting.id))[-1][2] == "q1"


async def test_a_counsellor_cannot_write_into_a_chat_that_is_not_theirs(fast: Services) -> None:
    session_id, _staff_id = await live_chat(fast)
    jo = await make_staff(fast, name="Jo")
    with pytest.raises(NotYourSession):
        await post_counsellor_message(
            fast, session_id=session_id, staff=jo, client_id="j1", text="not mine"
        )
    assert not [line for line in await stored(fast, session_id) if line[2] == "j1"]


async def test_concurrent_writers_on_both_paths_share_one_gap_free_sequence(
    fast: Services,
) -> None:
    session_id, _staff_id = await live_chat(fast)

    async def system_line(n: int) -> None:
        async with fast.transaction() as tx:
            chat = await lock_session(tx, session_id)
            await add_system_message(tx, chat, f"note {n}")

    async def person(n: int) -> int:
        return (await person_says(fast, session_id=session_id, client_id=f"c{n}", text="x")).seq

    results = await asyncio.gather(
        *[person(n) for n in range(60)], *[system_line(n) for n in range(20)]
    )
    seqs = [r for r in results if isinstance(r, int)]
    assert len(set(seqs)) == 60
    lines = await stored(fast, session_id)
    assert [seq for seq, _sender, _cid in lines] == list(range(1, len(lines) + 1))
    assert sum(1 for _seq, sender, _cid in lines if sender == "system") >= 20
    assert fast.appender is not None and fast.appender.batches < 60  # they were grouped


async def test_a_failed_batch_fails_every_message_in_it_and_writes_nothing(
    fast: Services,
) -> None:
    session_id, _staff_id = await live_chat(fast)
    before = await stored(fast, session_id)
    assert fast.appender is not None
    # A message for a session that does not exist in a batch with real ones is fine
    # (not written); a broken database is not: every message of the batch fails.
    await ddl(fast, "ALTER TABLE messages RENAME TO messages_away")
    try:
        results = await asyncio.gather(
            *[
                person_says(fast, session_id=session_id, client_id=f"f{n}", text="x")
                for n in range(5)
            ],
            return_exceptions=True,
        )
        assert all(isinstance(r, Exception) for r in results), results
    finally:
        await ddl(fast, "ALTER TABLE messages_away RENAME TO messages")
    assert await stored(fast, session_id) == before
    # And the chat goes on afterwards.
    said = await person_says(fast, session_id=session_id, client_id="after", text="still here")
    assert said.seq == before[-1][0] + 1


@pytest.mark.parametrize("expected", [None, *SessionState])
async def test_the_connections_state_is_only_a_hint_every_path_checks_the_stored_one(
    fast: Services, expected: SessionState | None
) -> None:
    live_id, _staff_id = await live_chat(fast)
    waiting = await make_queued_session(fast)
    said = await person_says(
        fast, session_id=live_id, client_id="h1", text="hello", expected=expected
    )
    assert (said.state, said.turn) == (SessionState.LIVE, None)
    crisis = await person_says(
        fast, session_id=waiting.id, client_id="h2", text="I want to end my life", expected=expected
    )
    assert crisis.state == SessionState.QUEUED and crisis.turn is None
    async with fast.read() as session:
        chat = await session.get(ChatSession, waiting.id)
    assert chat is not None and chat.priority == Priority.CRISIS
    for session_id, cid in ((live_id, "h1"), (waiting.id, "h2")):
        lines = await stored(fast, session_id)
        assert [line[2] for line in lines].count(cid) == 1
        assert [seq for seq, _sender, _cid in lines] == list(range(1, len(lines) + 1))
