"""The database engine and the one helper that opens a unit of work.

Every write happens in ``async with db.unit_of_work() as session:`` and every
pure read in ``db.read_only()``; a block commits when it ends without an
exception and rolls back otherwise. Units of work go through the process's
one writer, which commits concurrent units together (``gateway/writer.py``).
Nothing holds a database session for a websocket's lifetime.

On SQLite a unit of work starts with ``BEGIN IMMEDIATE``: writers queue on
the database lock (with a busy timeout) instead of failing when a read
snapshot is upgraded to a write, which is what makes a conditional claim
safe under concurrency. Read-only blocks start with a deferred ``BEGIN`` and
read a WAL snapshot beside the writer instead of waiting for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from gateway.writer import GroupWriter

# Writers wait up to 15 s for the SQLite lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 15_000
# Execution option marking a unit of work that only reads.
READ_ONLY = "haven_read_only"


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # A deleted row's bytes are overwritten with zeros, not left in the page's free
        # space: an erased or purged conversation must leave the file (gateway/scrub.py).
        cursor.execute("PRAGMA secure_delete=ON")
        # FULL: a commit is on disk before it returns, so an ack survives a power cut.
        # Group commit (gateway/writer.py) pays this fsync once per batch.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Readers take a deferred snapshot (WAL lets them run beside the writer);
        # units of work that may write queue for the write lock up front.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def create_engine(url: str) -> AsyncEngine:
    # Never let a logged database error carry message text in its parameters.
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if url.startswith("postgresql"):
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


class Database:
    """Owns the engine and hands out units of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.writer = GroupWriter(self.engine)
        # An erase or purge whose log checkpoint readers held off (gateway/scrub.py).
        self.checkpoint_owed = False
        self._readers = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed (in a group commit) when the block ends without
        an exception, undone otherwise. It returns only once its batch is durable."""
        async with self.writer.unit() as session:
            yield session

    @asynccontextmanager
    async def read_only(self) -> AsyncIterator[AsyncSession]:
        """A transaction that only reads: on SQLite it does not wait for the write lock."""
        async with self._readers() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
