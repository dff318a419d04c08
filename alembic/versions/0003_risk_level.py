"""risk level and topic of a session: the strongest crisis the detector found

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("risk_level", sa.String(length=16), nullable=False, server_default="none")
        )
        batch_op.add_column(sa.Column("risk_topic", sa.String(length=16), nullable=True))
    # Sessions escalated for a crisis before levels existed count as "high": the level
    # that "crisis" meant until now.
    op.execute(
        "UPDATE chat_sessions SET risk_level = 'high', risk_topic = 'suicide' WHERE priority = 3"
    )


def downgrade() -> None:
    with op.batch_alter_table("chat_sessions", schema=None) as batch_op:
        batch_op.drop_column("risk_topic")
        batch_op.drop_column("risk_level")
