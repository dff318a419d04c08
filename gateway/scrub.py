"""After an erase or a purge: the deleted text leaves the database files too.

Deleting a row is not enough. SQLite keeps a deleted row's bytes in the freed
space of its page and in the write-ahead log (``haven.db-wal``) until a
checkpoint; PostgreSQL keeps them in dead tuples, in its WAL segments, in
backups and on replicas (docs/security.md and deploy/OPERATIONS.md say what an
operator sets for those).

On SQLite every connection runs with ``PRAGMA secure_delete=ON`` (gateway/db.py,
gateway/appender.py), so a delete overwrites the row's bytes with zeros in the
page itself. What is left is the log: the frames that carried the text when it
was written. ``truncate_wal`` copies the log into the database and truncates it
to nothing (``PRAGMA wal_checkpoint(TRUNCATE)``).

Why this shape: a TRUNCATE checkpoint must wait for readers still using older
frames and holds off writers while it runs. It runs during the process's writer's
turn (``GroupWriter.exclusive``), so none of this process's writes contend with
it, and with a short busy timeout (``CHECKPOINT_BUSY_MS``), so a long reader
makes it give up quickly rather than stall the live chats behind it. The log is
small (SQLite checkpoints itself every 1,000 pages, about 4 MB), so a checkpoint
takes milliseconds. Erases and purges are rare; when one gives up, the timer loop
tries again at its next round (``pay_owed_checkpoint``), every few seconds, until it works.

PostgreSQL: nothing here. A plain ``VACUUM`` does not reliably overwrite a dead
tuple's bytes (tried: one of forty deleted markers was still in the heap file
after it), and ``VACUUM FULL`` locks the table against the live chats; autovacuum
and the operator's settings decide (deploy/OPERATIONS.md, "Erased text").
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from gateway.db import Database

log = logging.getLogger(__name__)

# How long a checkpoint waits for readers on older frames before giving up (it is
# tried again later): short, because this process's writes wait while it runs.
CHECKPOINT_BUSY_MS = 200


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite database URL; None for PostgreSQL or an in-memory database."""
    prefix = "sqlite+aiosqlite:///"
    if not url.startswith(prefix) or url == prefix or ":memory:" in url:
        return None
    return url.removeprefix(prefix)


def _checkpoint(path: str) -> bool:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_MS}")
        connection.execute("PRAGMA secure_delete=ON")
        busy, _log_frames, _checkpointed = connection.execute(
            "PRAGMA wal_checkpoint(TRUNCATE)"
        ).fetchone()
        return int(busy) == 0
    finally:
        connection.close()


async def truncate_wal(db: Database) -> bool:
    """Checkpoint a SQLite database's log into it and truncate the log to zero bytes.

    True when done (and always on PostgreSQL, where there is nothing to do here);
    False when readers held it off, to be tried again."""
    path = sqlite_path(db.url)
    if path is None:
        return True
    try:
        async with db.writer.exclusive():
            return await asyncio.to_thread(_checkpoint, path)
    except sqlite3.Error as exc:
        log.warning("checkpoint after an erase failed: %s; trying again", type(exc).__name__)
        return False


async def forget_deleted_text(db: Database) -> bool:
    """Called once deleted text has been committed: checkpoint now, or owe it to the
    timer loop (``pay_owed_checkpoint``). True when the files no longer hold it."""
    db.checkpoint_owed = not await truncate_wal(db)
    return not db.checkpoint_owed


async def pay_owed_checkpoint(db: Database) -> None:
    """The timer loop's turn: a checkpoint an erase or a purge could not finish."""
    if db.checkpoint_owed:
        await forget_deleted_text(db)
