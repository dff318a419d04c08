"""several outcomes per wrap-up; a transfer offered and waiting for the colleague's answer

Revision ID: 0005
Revises: 0004

No table that others point at is rebuilt here. On SQLite a batch "move and
copy" of ``wrap_ups`` or ``chat_sessions`` drops the old table, and with
foreign keys on (as the service runs) that cascades: messages, notes and
outcomes would be deleted. So columns are added and dropped with plain
``ALTER TABLE`` (SQLite 3.35 and later), and ``transfer_to_id`` carries no
foreign key (SQLite cannot drop a column that has one); the actions check that
the colleague exists when the offer is answered.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wrap_up_outcomes",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["wrap_ups.session_id"],
            name=op.f("fk_wrap_up_outcomes_session_id_wrap_ups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "outcome", name=op.f("pk_wrap_up_outcomes")),
    )
    op.execute(
        "INSERT INTO wrap_up_outcomes (session_id, outcome) "
        "SELECT session_id, outcome FROM wrap_ups"
    )
    op.drop_column("wrap_ups", "outcome")
    op.add_column("chat_sessions", sa.Column("transfer_to_id", sa.Integer(), nullable=True))
    op.add_column(
        "chat_sessions", sa.Column("transfer_offered_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        op.f("ix_chat_sessions_transfer_offered_at"),
        "chat_sessions",
        ["transfer_offered_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_chat_sessions_transfer_offered_at"), table_name="chat_sessions")
    op.drop_column("chat_sessions", "transfer_offered_at")
    op.drop_column("chat_sessions", "transfer_to_id")
    # Nullable on the way back: SQLite cannot add a NOT NULL column without a default.
    op.add_column("wrap_ups", sa.Column("outcome", sa.String(length=80), nullable=True))
    # A wrap-up keeps one of its outcomes (the first in alphabetical order).
    op.execute(
        "UPDATE wrap_ups SET outcome = (SELECT MIN(o.outcome) FROM wrap_up_outcomes o "
        "WHERE o.session_id = wrap_ups.session_id)"
    )
    op.drop_table("wrap_up_outcomes")
