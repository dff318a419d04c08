"""a record of every wait in the queue, an append-only audit log, sessions by start

Revision ID: 0006
Revises: 0005

``queue_waits`` holds one row each time a session enters the queue and how that
wait ended: statistics of waits come from it, so a session released and claimed
again counts each of its waits. ``audit_events`` records who did what to which
session reference and when (never message text). Both are only added to; neither
is rebuilt (see 0005 for why SQLite tables others point at are never rebuilt).
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "queue_waits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["chat_sessions.id"],
            name=op.f("fk_queue_waits_session_id_chat_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_queue_waits_staff_id_staff"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_waits")),
    )
    op.create_index(op.f("ix_queue_waits_entered_at"), "queue_waits", ["entered_at"])
    op.create_index(op.f("ix_queue_waits_session_id"), "queue_waits", ["session_id"])
    op.create_index(op.f("ix_queue_waits_staff_id"), "queue_waits", ["staff_id"])

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_audit_events_staff_id_staff"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"])
    op.create_index(op.f("ix_audit_events_staff_id"), "audit_events", ["staff_id"])
    op.create_index(op.f("ix_audit_events_session_id"), "audit_events", ["session_id"])

    op.create_index(op.f("ix_chat_sessions_created_at"), "chat_sessions", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_chat_sessions_created_at"), table_name="chat_sessions")
    op.drop_table("audit_events")
    op.drop_table("queue_waits")
