"""Who did each step of the run log; the machine's name kept on a statement line when drafted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `billing_runs.by` and `statement_lines.name` (empty on rows kept before)."""
    with op.batch_alter_table("billing_runs") as runs:
        runs.add_column(sa.Column("by", sa.String(length=200), nullable=True))
    with op.batch_alter_table("statement_lines") as lines:
        lines.add_column(sa.Column("name", sa.String(length=200), nullable=True))


def downgrade() -> None:
    """Drop what upgrade added."""
    with op.batch_alter_table("statement_lines") as lines:
        lines.drop_column("name")
    with op.batch_alter_table("billing_runs") as runs:
        runs.drop_column("by")
