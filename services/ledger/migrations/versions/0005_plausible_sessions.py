"""Sessions held for review, conflicting copies, machines' rated power, dead letters' sizes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the review tables and the new columns."""
    op.create_table(
        "held_sessions",
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_held_sessions")),
    )
    op.create_index("ix_held_sessions_held_at", "held_sessions", ["held_at"])
    op.create_table(
        "session_conflicts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=True),
        sa.Column("booked", sa.Text(), nullable=False),
        sa.Column("delivered", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_conflicts")),
    )
    op.create_index("ix_session_conflicts_session_id", "session_conflicts", ["session_id"])
    op.create_index("ix_session_conflicts_received_at", "session_conflicts", ["received_at"])
    with op.batch_alter_table("machines") as machines:
        machines.add_column(sa.Column("rated_w", sa.Double(), nullable=True))
    with op.batch_alter_table("dead_letters") as letters:
        letters.add_column(sa.Column("raw_size", sa.Integer(), nullable=True))
    # Letters kept before sizes were recorded were kept whole.
    op.execute("UPDATE dead_letters SET raw_size = length(raw)")


def downgrade() -> None:
    """Drop what upgrade added."""
    with op.batch_alter_table("dead_letters") as letters:
        letters.drop_column("raw_size")
    with op.batch_alter_table("machines") as machines:
        machines.drop_column("rated_w")
    op.drop_index("ix_session_conflicts_received_at", table_name="session_conflicts")
    op.drop_index("ix_session_conflicts_session_id", table_name="session_conflicts")
    op.drop_table("session_conflicts")
    op.drop_index("ix_held_sessions_held_at", table_name="held_sessions")
    op.drop_table("held_sessions")
