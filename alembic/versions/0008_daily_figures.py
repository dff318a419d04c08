"""daily figures: the statistics of settled days, kept, and forgotten on any change

Revision ID: 0008
Revises: 0007

``daily_figures`` holds the statistics of one local day and one wait class
(gateway/actions/daily_figures.py), so that a year's page reads a few hundred rows
instead of every session. It is a cache, kept right by triggers: any insert, delete
or change of a statistics column of a session, a wait, a wrap-up or a wrap-up outcome
deletes the rows of the local day it belongs to (found by time: the day holding the
session's ``created_at`` or the wait's ``entered_at``; a local day is at most 25 hours
long, which bounds the index range), and the next read builds them again.

On PostgreSQL each trigger first takes a shared advisory lock that the builder takes
exclusively while it reads a day and stores its figures: a change that commits while
a day is being built waits for the builder and then deletes what it stored, so
figures are never kept from a snapshot older than the data. (SQLite has one writer at
a time, and the builder writes in the same transaction as it reads.)

Only chat_sessions' statistics columns fire the trigger: appending a message
(``last_seq``) or a sign of life (``user_seen_at``) does not.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# gateway/actions/daily_figures.py LOCK_KEY: the builder's advisory lock.
LOCK_KEY = 7_311_020_008
SESSION_COLUMNS = (
    "created_at, priority, risk_level, queued_at, escalation_reason, claimed_at,"
    " closed_at, counsellor_id"
)


def _pg_forget(at: str) -> str:
    return (
        f"IF {at} IS NOT NULL THEN"
        f" PERFORM pg_advisory_xact_lock_shared({LOCK_KEY});"
        f" DELETE FROM daily_figures WHERE starts_at > {at} - interval '26 hours'"
        f" AND starts_at <= {at} AND ends_at > {at};"
        " END IF;"
    )


def _sqlite_forget(at: str) -> str:
    return (
        f"DELETE FROM daily_figures WHERE starts_at > datetime({at}, '-26 hours')"
        f" AND starts_at <= {at} AND ends_at > {at};"
    )


_SESSION_OF = "(SELECT created_at FROM chat_sessions WHERE id = {row}.session_id)"

# table -> (events for PostgreSQL, the instant of NEW, the instant of OLD)
_TRIGGERS = {
    "chat_sessions": (
        f"INSERT OR DELETE OR UPDATE OF {SESSION_COLUMNS}",
        "NEW.created_at",
        "OLD.created_at",
    ),
    "queue_waits": ("INSERT OR DELETE OR UPDATE", "NEW.entered_at", "OLD.entered_at"),
    "wrap_ups": (
        "INSERT OR DELETE OR UPDATE OF risk_level",
        _SESSION_OF.format(row="NEW"),
        _SESSION_OF.format(row="OLD"),
    ),
    "wrap_up_outcomes": (
        "INSERT OR DELETE",
        _SESSION_OF.format(row="NEW"),
        _SESSION_OF.format(row="OLD"),
    ),
}


def upgrade() -> None:
    op.create_table(
        "daily_figures",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("wait_class", sa.String(length=16), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("figures", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key", "day", "wait_class", name=op.f("pk_daily_figures")),
    )
    op.create_index(op.f("ix_daily_figures_starts_at"), "daily_figures", ["starts_at"])
    if op.get_bind().dialect.name == "postgresql":
        for table, (events, new, old) in _TRIGGERS.items():
            op.execute(
                f"CREATE FUNCTION {table}_forget_figures() RETURNS trigger LANGUAGE plpgsql AS $$"
                " BEGIN"
                f" IF TG_OP <> 'DELETE' THEN {_pg_forget(new)} END IF;"
                f" IF TG_OP <> 'INSERT' THEN {_pg_forget(old)} END IF;"
                " RETURN NULL; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {table}_forget_figures AFTER {events} ON {table}"
                f" FOR EACH ROW EXECUTE FUNCTION {table}_forget_figures()"
            )
        return
    for table, (events, new, old) in _TRIGGERS.items():
        for event in events.split(" OR "):
            name = event.split()[0].lower()
            body = ""
            if not event.startswith("DELETE"):
                body += _sqlite_forget(new)
            if not event.startswith("INSERT"):
                body += _sqlite_forget(old)
            op.execute(
                f"CREATE TRIGGER {table}_forget_figures_{name} AFTER {event} ON {table}"
                f" BEGIN {body} END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _TRIGGERS:
            op.execute(f"DROP TRIGGER {table}_forget_figures ON {table}")
            op.execute(f"DROP FUNCTION {table}_forget_figures()")
    else:
        for table, (events, _, _) in _TRIGGERS.items():
            for event in events.split(" OR "):
                op.execute(f"DROP TRIGGER {table}_forget_figures_{event.split()[0].lower()}")
    op.drop_index(op.f("ix_daily_figures_starts_at"), table_name="daily_figures")
    op.drop_table("daily_figures")
