"""trust: forced password change, retention and redaction marks, flood groups,
an append-only audit log

Revision ID: 0007
Revises: 0006

* ``staff.must_change_password``: an admin reset a password; the account must
  choose a new one at its next sign-in before it sees anything else.
* ``chat_sessions.redacted_at``: phone numbers, email addresses and postcodes were
  masked in the stored transcript after the session closed (HAVEN_REDACT).
* ``chat_sessions.purged_at``: the retention purge removed the transcript's text
  (HAVEN_RETENTION_DAYS after close); the row stays for the statistics.
* ``chat_sessions.flood_group``: an opaque random label shared by the sessions one
  client created in a burst (never derived from, or stored with, an address), so
  the queue can demote them together and a supervisor can clear them at once.
* an index on ``chat_sessions.closed_at`` for the redaction and retention sweeps.
* ``audit_events`` refuses UPDATE and DELETE (a trigger on both databases).

Columns are only added (see 0005 for why SQLite tables others point at are never
rebuilt).
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_APPEND_ONLY = "audit_events is append-only"


def upgrade() -> None:
    op.add_column(
        "staff",
        sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "chat_sessions", sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "chat_sessions", sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("chat_sessions", sa.Column("flood_group", sa.String(length=16), nullable=True))
    op.create_index(op.f("ix_chat_sessions_closed_at"), "chat_sessions", ["closed_at"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events"
            " FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{event.lower()} BEFORE {event} ON audit_events"
                f" BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
    else:
        op.execute("DROP TRIGGER audit_events_no_update")
        op.execute("DROP TRIGGER audit_events_no_delete")
    op.drop_index(op.f("ix_chat_sessions_closed_at"), table_name="chat_sessions")
    op.drop_column("chat_sessions", "flood_group")
    op.drop_column("chat_sessions", "purged_at")
    op.drop_column("chat_sessions", "redacted_at")
    op.drop_column("staff", "must_change_password")
