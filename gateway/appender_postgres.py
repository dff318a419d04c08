"""The live chat's hot path on PostgreSQL: messages in batches, one statement each.

The same contract as the SQLite appender (``gateway/appender.py``): a message
is stored once per client id, takes the next ``seq`` only if its session is
in the expected state (and, for a counsellor, theirs), and nothing returns
before its batch has committed (``synchronous_commit`` as the server has it,
``on`` by default). Each message is one statement on the appender's own
asyncpg connection, so a message costs one round trip instead of several
round trips through the ORM.

Row locks: a batch takes the sessions' rows in ascending id order, so two
processes' batches cannot deadlock each other. The same client id sent at the
same instant through two processes fails one batch on the unique index; its
messages were not stored, their senders had no ``ack`` and send them again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from gateway.appender import Append, Appended, BatchAppender

_APPEND = """
WITH earlier AS (
    SELECT seq FROM messages WHERE session_id = $1 AND client_id = $2
), bumped AS (
    UPDATE chat_sessions
       SET last_seq = last_seq + 1,
           user_seen_at = CASE WHEN $6 THEN $7 ELSE user_seen_at END
     WHERE id = $1
       AND state = ANY($3::varchar[])
       AND ($4::integer IS NULL OR counsellor_id = $4)
       AND NOT EXISTS (SELECT 1 FROM earlier)
    RETURNING last_seq
), stored AS (
    INSERT INTO messages
        (session_id, seq, sender, counsellor_id, text, client_id, quick_replies, created_at)
    SELECT $1, last_seq, $5, $4, $8, $2, NULL, $7 FROM bumped
    RETURNING seq
)
SELECT (SELECT seq FROM earlier) AS earlier_seq, (SELECT seq FROM stored) AS new_seq
"""


class PostgresAppender(BatchAppender):
    def __init__(self, dsn: str) -> None:
        super().__init__()
        self.dsn = dsn
        self._connection: asyncpg.Connection | None = None

    @classmethod
    def for_url(cls, url: str) -> PostgresAppender | None:
        """An appender for a ``postgresql+asyncpg://`` URL; None for anything else."""
        prefix = "postgresql+asyncpg://"
        if not url.startswith(prefix):
            return None
        return cls("postgresql://" + url.removeprefix(prefix))

    async def close(self) -> None:
        await super().close()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def _open(self) -> asyncpg.Connection:
        if self._connection is None or self._connection.is_closed():
            self._connection = await asyncpg.connect(self.dsn)
        return self._connection

    async def _write_batch(self, items: list[tuple[Append, datetime]]) -> list[Appended]:
        connection = await self._open()
        order = sorted(range(len(items)), key=lambda i: items[i][0].session_id)
        results: list[Appended] = [Appended()] * len(items)
        try:
            async with connection.transaction():
                for index in order:
                    item, now = items[index]
                    results[index] = await self._one(connection, item, now)
        except (OSError, asyncpg.InterfaceError):
            # The connection is gone (a restart): the next batch opens a new one.
            self._connection = None
            raise
        return results

    async def _one(self, connection: asyncpg.Connection, item: Append, now: datetime) -> Appended:
        row: Any = await connection.fetchrow(
            _APPEND,
            item.session_id,
            item.client_id,
            list(item.states),
            item.counsellor_id,
            item.sender,
            item.person_seen,
            now,
            item.text,
        )
        if row["earlier_seq"] is not None:
            return Appended(seq=int(row["earlier_seq"]), duplicate=True)
        if row["new_seq"] is not None:
            return Appended(seq=int(row["new_seq"]), stored=True)
        return Appended()
