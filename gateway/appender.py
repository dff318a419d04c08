"""The live chat's hot path on SQLite: many messages, one thread hop, one commit.

Through SQLAlchemy and aiosqlite every statement is a hop to the driver's
thread and back, which costs more than the statement. A message in a live
chat is the one write that comes often (both sides of every conversation),
so on SQLite it takes this path instead: messages that arrive together are
appended by one call on a thread of its own, in one transaction with one
fsync, during the process's writer's turn (``GroupWriter.exclusive``), so
SQLite's one write lock is never contended. Each message is checked and
written exactly as ``records.append_if_state`` does it: the same client id
is stored once, and the sequence number is taken only if the session is in
the expected state (and, for a counsellor, theirs). Nothing returns before
its batch has committed.

PostgreSQL has its own appender (``gateway/appender_postgres.py``): the same
batches, one statement a message, on a connection of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import sqlite as sqlite_dialect

from gateway.db import SQLITE_BUSY_TIMEOUT_MS
from gateway.models import Message
from gateway.scrub import sqlite_path
from gateway.writer import GroupWriter

# Messages appended in one transaction at most (a bound on one batch's latency).
MAX_BATCH = 512

_dialect = sqlite_dialect.dialect()
# The very text SQLAlchemy stores for a UTC time on SQLite, so both paths agree.
_stored_time = Message.__table__.c.created_at.type.dialect_impl(_dialect).bind_processor(_dialect)


@dataclass(frozen=True)
class Append:
    session_id: int
    states: tuple[str, ...]
    sender: str
    text: str
    client_id: str
    counsellor_id: int | None = None  # the author, who must hold the chat
    person_seen: bool = False


@dataclass(frozen=True)
class Appended:
    """``stored``: a new message under ``seq``; ``duplicate``: the client id was
    stored before, under ``seq``; neither: the session was not in the state asked
    for, and nothing was written."""

    seq: int = 0
    stored: bool = False
    duplicate: bool = False


_NOT_NOW = Appended()


@functools.cache
def _update_sql(states: int, person_seen: bool, counsellor: bool) -> str:
    """The conditional UPDATE that takes the next seq (built once per shape)."""
    sets = "last_seq = last_seq + 1" + (", user_seen_at = ?" if person_seen else "")
    where = "id = ? AND state IN (" + ", ".join("?" * states) + ")"
    if counsellor:
        where += " AND counsellor_id = ?"
    return f"UPDATE chat_sessions SET {sets} WHERE {where} RETURNING last_seq"  # noqa: S608


def _time(at: datetime) -> Any:
    assert _stored_time is not None
    return _stored_time(at)


class BatchAppender(ABC):
    """Messages that arrive together are written together: callers wait on a future
    each, one task writes whatever is pending as one batch, and every future is
    resolved (or failed) once that batch has committed."""

    def __init__(self) -> None:
        self._pending: list[tuple[Append, datetime, asyncio.Future[Appended]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    async def append(self, item: Append, now: datetime) -> Appended:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="message-appender")
        future: asyncio.Future[Appended] = asyncio.get_running_loop().create_future()
        self._pending.append((item, now, future))
        self._wake.set()
        # A caller cancelled meanwhile cancels only its wait: the message is written
        # with its batch all the same (the drain skips futures that are done).
        return await future

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for _item, _now, future in self._pending:
            if not future.done():
                future.cancel()
        self._pending = []

    @abstractmethod
    async def _write_batch(self, items: list[tuple[Append, datetime]]) -> list[Appended]:
        """Write these messages in one transaction; a result each, in their order."""

    async def _drain(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                items = [(item, now) for item, now, _future in batch]
                try:
                    results = await asyncio.shield(self._write_batch(items))
                except Exception as exc:
                    for _item, _now, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                self.batches += 1
                for (_item, _now, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)


class SQLiteAppender(BatchAppender):
    def __init__(self, path: str, writer: GroupWriter) -> None:
        super().__init__()
        self.path = path
        self.writer = writer
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="haven-appender")
        self._connection: sqlite3.Connection | None = None

    @classmethod
    def for_url(cls, url: str, writer: GroupWriter) -> SQLiteAppender | None:
        """An appender for a SQLite file database; None for anything else."""
        path = sqlite_path(url)
        return None if path is None else cls(path, writer)

    async def close(self) -> None:
        await super().close()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close_connection)
        self._executor.shutdown(wait=True)

    async def _write_batch(self, items: list[tuple[Append, datetime]]) -> list[Appended]:
        loop = asyncio.get_running_loop()
        async with self.writer.exclusive():
            return await loop.run_in_executor(self._executor, self._write, items)

    # --- on the appender's thread ------------------------------------------

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA synchronous=FULL")
            # As in gateway/db.py: deleted text is overwritten, not left in free space.
            connection.execute("PRAGMA secure_delete=ON")
            self._connection = connection
        return self._connection

    def _close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _write(self, items: list[tuple[Append, datetime]]) -> list[Appended]:
        connection = self._open()
        connection.execute("BEGIN IMMEDIATE")
        try:
            results = [self._one(connection, item, now) for item, now in items]
            connection.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
            raise
        return results

    def _one(self, connection: sqlite3.Connection, item: Append, now: datetime) -> Appended:
        existing = connection.execute(
            "SELECT seq FROM messages WHERE session_id = ? AND client_id = ?",
            (item.session_id, item.client_id),
        ).fetchone()
        if existing is not None:
            return Appended(seq=int(existing[0]), duplicate=True)
        stamp = _time(now)
        params: list[Any] = [stamp] if item.person_seen else []
        params += [item.session_id, *item.states]
        if item.counsellor_id is not None:
            params.append(item.counsellor_id)
        sql = _update_sql(len(item.states), item.person_seen, item.counsellor_id is not None)
        row = connection.execute(sql, params).fetchone()
        if row is None:
            return _NOT_NOW
        seq = int(row[0])
        connection.execute(
            "INSERT INTO messages (session_id, seq, sender, counsellor_id, text, client_id,"
            " quick_replies, created_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
            (
                item.session_id,
                seq,
                item.sender,
                item.counsellor_id,
                item.text,
                item.client_id,
                stamp,
            ),
        )
        return Appended(seq=seq, stored=True)
