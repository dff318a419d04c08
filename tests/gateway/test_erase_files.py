"""Erased and purged text is gone from the database files, not only from the rows.

Over a real server, as a widget would do it: a conversation carrying a marker
found nowhere else (the person's words, the counsellor's reply, a private note),
then the person's ``erase`` frame, or the retention purge, or the redaction
sweep. On SQLite the raw bytes of ``haven.db``, ``haven.db-wal`` and
``haven.db-shm`` are read after the ``erased`` frame (or the purge's return): the
marker is in them before and absent after. On both databases every column of
every table is read back: no row holds it.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select

from gateway.actions.audit import ERASE
from gateway.actions.messages import post_counsellor_message
from gateway.actions.notes import add_note
from gateway.actions.queue import claim_session
from gateway.actions.redact_sweep import redact_closed
from gateway.actions.retention import purge_expired
from gateway.actions.sessions import leave_session
from gateway.models import AuditEvent, Base, utcnow
from gateway.scheduler import RetentionRounds
from gateway.scrub import sqlite_path
from gateway.services import Services
from gateway.settings import Settings
from tests.chat_client import ChatClient, is_ack, is_type
from tests.conftest import LiveServer
from tests.factories import make_staff
from tests.gateway.test_protocol_support import (
    chat_row,
    close_code,
    greeted_chat,
    serve,
    services_of,
)

asynchronous = pytest.mark.asyncio
# Generous: the machine running the suite may be busy; nothing here measures time.
WAIT_S = 30.0


@pytest_asyncio.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    async with serve(settings) as running:
        yield running


def database_files(settings: Settings) -> list[Path]:
    path = sqlite_path(settings.effective_database_url)
    assert path is not None
    return [Path(path + suffix) for suffix in ("", "-wal", "-shm")]


def in_files(settings: Settings, marker: str) -> list[str]:
    """The database files whose raw bytes hold ``marker`` (SQLite stores text as UTF-8)."""
    needle = marker.encode()
    return [f.name for f in database_files(settings) if f.exists() and needle in f.read_bytes()]


async def in_rows(svc: Services, marker: str) -> list[str]:
    """Every table whose rows, read back column by column, hold ``marker``."""
    found = []
    async with svc.read() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table))).all()
            if any(marker in repr(tuple(r)) for r in rows):
                found.append(table.name)
    return found


async def conversation(server: LiveServer, marker: str) -> tuple[ChatClient, int]:
    """A person who wrote ``marker``, a counsellor who quoted it back and noted it."""
    svc = services_of(server)
    client = await greeted_chat(server)
    cid = await client.say(f"my secret is {marker}")
    await client.recv_until(is_ack(cid), timeout=WAIT_S)
    await client.ask_for_a_person(timeout=WAIT_S)
    assert client.token is not None
    session_id = (await chat_row(server.settings.effective_database_url, client.token)).id
    sam = await make_staff(svc, name="Sam")
    assert (await claim_session(svc, session_id=session_id, staff_id=sam.id)).won
    await post_counsellor_message(
        svc, session_id=session_id, staff=sam, client_id="c1", text=f"you said {marker}"
    )
    await add_note(svc, session_id=session_id, staff=sam, text=f"noted {marker}")
    await client.recv_until(
        lambda f: f["type"] == "message" and f["from"] == "counsellor", timeout=WAIT_S
    )
    return client, session_id


@asynchronous
async def test_erase_from_the_widget_leaves_no_trace_in_the_sqlite_files(
    server: LiveServer, settings: Settings
) -> None:
    if sqlite_path(settings.effective_database_url) is None:
        pytest.skip("the files of a SQLite database")
    marker = f"zebra-{uuid.uuid4().hex}"
    client, session_id = await conversation(server, marker)
    assert in_files(settings, marker)  # the test can see it: it is there before

    await client.send({"type": "erase"})
    assert (await client.recv_until(is_type("erased"), timeout=WAIT_S))[-1] == {"type": "erased"}
    assert await close_code(client) == 1000

    assert in_files(settings, marker) == []
    assert await in_rows(services_of(server), marker) == []
    async with services_of(server).read() as session:
        line = (
            await session.execute(select(AuditEvent).where(AuditEvent.action == ERASE))
        ).scalar_one()
    assert (line.session_id, line.staff_id) == (session_id, None)
    assert line.detail == "by the person (live)"


@asynchronous
async def test_erase_leaves_no_row_holding_the_words_on_either_database(
    server: LiveServer,
) -> None:
    marker = f"quokka-{uuid.uuid4().hex}"
    client, _session_id = await conversation(server, marker)
    assert {"messages", "session_notes"} <= set(await in_rows(services_of(server), marker))
    await client.send({"type": "erase"})
    await client.recv_until(is_type("erased"), timeout=WAIT_S)
    assert await in_rows(services_of(server), marker) == []


@asynchronous
async def test_the_retention_purge_leaves_no_trace_in_the_files(
    server: LiveServer, settings: Settings
) -> None:
    marker = f"narwhal-{uuid.uuid4().hex}"
    client, _session_id = await conversation(server, marker)
    await client.send({"type": "leave"})
    await close_code(client)
    svc = services_of(server)
    later = utcnow() + timedelta(days=31)
    svc.clock = lambda: later
    assert (await purge_expired(svc)).sessions == 1
    assert await in_rows(svc, marker) == []
    if sqlite_path(settings.effective_database_url) is not None:
        assert in_files(settings, marker) == []


@asynchronous
async def test_the_redaction_sweep_leaves_no_original_number_in_the_files(
    server: LiveServer, settings: Settings
) -> None:
    number = f"07700 9{uuid.uuid4().int % 100000:05d}"
    client, session_id = await conversation(server, f"call {number}")
    svc = services_of(server)
    await leave_session(svc, session_id=session_id)
    await client.close()
    assert await redact_closed(svc) == 1
    assert await in_rows(svc, number) == []
    if sqlite_path(settings.effective_database_url) is not None:
        assert in_files(settings, number) == []


@asynchronous
async def test_a_checkpoint_a_reader_held_off_is_paid_by_the_timer_loop(
    server: LiveServer, settings: Settings
) -> None:
    path = sqlite_path(settings.effective_database_url)
    if path is None:
        pytest.skip("the files of a SQLite database")
    marker = f"ibis-{uuid.uuid4().hex}"
    client, _session_id = await conversation(server, marker)
    # A reader in the middle of a long read: its snapshot still needs the log.
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM messages").fetchone()
    try:
        await client.send({"type": "erase"})
        await client.recv_until(is_type("erased"), timeout=WAIT_S)
        svc = services_of(server)
        assert svc.db.checkpoint_owed  # gave up at once instead of stalling the chats
    finally:
        reader.execute("ROLLBACK")
        reader.close()
    await RetentionRounds().run_due(svc)
    assert not svc.db.checkpoint_owed
    assert in_files(settings, marker) == []
