"""Group commit: one writer per process, many units of work in one transaction.

Every unit of work that may write goes through the process's ``GroupWriter``.
Units run one at a time on one connection, inside a batch transaction that
stays open while more units are queued behind the one running; the last unit
of a batch commits it (one ``COMMIT``, one fsync), and only then does any unit
of the batch return. So nothing is acknowledged before its batch is durable,
and under load a hundred messages share one fsync instead of racing a hundred
pooled connections for SQLite's write lock.

A unit's failure must not touch its neighbours: the first unit of a batch
runs directly in the transaction (at light load, the usual case, that costs
nothing extra) and, if it fails, the batch is rolled back with nothing else
in it; every later unit runs inside a ``SAVEPOINT`` and a failure rolls back
to it. A failed ``COMMIT`` fails every unit of the batch.

A unit must not open another unit inside itself (the writer is not
reentrant); that is refused at once instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

# A batch closes after this many units, so that a steady stream of writers
# cannot keep the first one waiting for its commit.
MAX_BATCH_UNITS = 128
# ... or once it has been open this long (seconds): a bound on the latency
# that batching adds to the first unit when units keep arriving.
MAX_BATCH_AGE_S = 0.025

_inside_unit: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "haven_inside_unit", default=False
)


class NestedUnitOfWork(RuntimeError):
    """A unit of work tried to open another one inside itself."""


@dataclass
class _Batch:
    connection: AsyncConnection
    opened_at: float
    committed: asyncio.Future[None]
    units: int = 0
    # Units that ran to their end and wait for this batch's commit.
    pending: int = 0
    broken: bool = False


@dataclass
class WriterStats:
    """Counters for the benchmark and the operations guide."""

    batches: int = 0
    units: int = 0
    failed_commits: int = 0


class GroupWriter:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.stats = WriterStats()
        self._lock = asyncio.Lock()
        self._waiting = 0
        self._batch: _Batch | None = None
        self._flusher: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commit (with its batch) on success, undo it on any exception."""
        if _inside_unit.get():
            raise NestedUnitOfWork("a unit of work cannot open another one inside itself")
        await self._acquire()
        token = _inside_unit.set(True)
        batch: _Batch | None = None
        succeeded = False
        try:
            batch = await self._current_batch()
            first = batch.units == 0
            batch.units += 1
            session = AsyncSession(
                bind=batch.connection,
                expire_on_commit=False,
                join_transaction_mode="rollback_only" if first else "create_savepoint",
            )
            try:
                async with session.begin():
                    yield session
                succeeded = True
            finally:
                await session.close()
                if not succeeded and first:
                    batch.broken = True
        finally:
            _inside_unit.reset(token)
            try:
                if batch is not None:
                    if succeeded:
                        batch.pending += 1
                    await self._maybe_commit(batch)
            finally:
                self._lock.release()
        if batch is not None and succeeded:
            # Shielded: a caller cancelled now must not cancel the commit it shares.
            await asyncio.shield(batch.committed)

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """The writer's turn for work that writes on a connection of its own (the
        SQLite appender): any open batch is committed first, and no unit runs until
        the block ends. SQLite has one write lock; this keeps it uncontended."""
        if _inside_unit.get():
            raise NestedUnitOfWork("a unit of work cannot open another one inside itself")
        await self._acquire()
        try:
            batch, self._batch = self._batch, None
            if batch is not None:
                await asyncio.shield(self._finish(batch, commit=not batch.broken))
            yield
        finally:
            self._lock.release()

    async def _acquire(self) -> None:
        """Take the writer, counted among those waiting while queued for it."""
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1

    async def _current_batch(self) -> _Batch:
        if self._batch is None:
            connection = await self.engine.connect()
            try:
                await connection.begin()
            except BaseException:
                await connection.close()
                raise
            loop = asyncio.get_running_loop()
            self._batch = _Batch(connection, time.monotonic(), loop.create_future())
        return self._batch

    async def _maybe_commit(self, batch: _Batch) -> None:
        """Commit when nobody is queued behind this unit, or the batch is full or old."""
        full = batch.units >= MAX_BATCH_UNITS
        old = time.monotonic() - batch.opened_at >= MAX_BATCH_AGE_S
        if self._waiting == 0 and not (batch.broken or full or old):
            # Let tasks that are ready to run reach the queue first: writers woken
            # by the last commit join this batch instead of waiting for the next.
            await asyncio.sleep(0)
        if batch.broken or self._waiting == 0 or full or old:
            self._batch = None
            # Shielded: a unit cancelled now must not interrupt a commit others share.
            await asyncio.shield(self._finish(batch, commit=not batch.broken))
        elif self._flusher is None:
            # The unit queued behind this one will carry the batch on; but if it is
            # cancelled while it waits, nobody would commit. The flusher queues on
            # the lock too and commits whatever batch is open when its turn comes.
            self._flusher = asyncio.create_task(self._flush(), name="group-commit-flush")

    async def _flush(self) -> None:
        async with self._lock:
            self._flusher = None
            batch, self._batch = self._batch, None
            if batch is not None:
                await self._finish(batch, commit=not batch.broken)

    async def _finish(self, batch: _Batch, *, commit: bool) -> None:
        connection = batch.connection
        error: BaseException | None = None
        try:
            if commit and batch.pending:
                await connection.commit()
            elif connection.in_transaction():
                await connection.rollback()
        except BaseException as exc:  # the commit failed: so did every unit in it
            error = exc
            self.stats.failed_commits += 1
        finally:
            try:
                await connection.close()
            finally:
                self.stats.batches += 1
                self.stats.units += batch.pending
                if error is None:
                    batch.committed.set_result(None)
                else:
                    batch.committed.set_exception(error)
                    # Retrieved here so that a batch nobody waits for logs no warning.
                    batch.committed.exception()
        if error is not None and not isinstance(error, Exception):
            raise error
