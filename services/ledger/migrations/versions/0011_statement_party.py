"""Statements per billing party: each statement names the party it is made out to.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the party to statements; one statement per member, party, month, kind and revision."""
    with op.batch_alter_table("statements") as batch:
        batch.add_column(sa.Column("party_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("party_label", sa.String(length=200), nullable=True))
        batch.drop_constraint("uq_statements_member_month", type_="unique")
    op.create_index(
        "uq_statements_member_party_month",
        "statements",
        ["member", sa.text("coalesce(party_id, 0)"), "month", "kind", "revision"],
        unique=True,
    )


def downgrade() -> None:
    """Back to one statement per member and month (fails while a month has several)."""
    op.drop_index("uq_statements_member_party_month", table_name="statements")
    with op.batch_alter_table("statements") as batch:
        batch.create_unique_constraint(
            "uq_statements_member_month", ["member", "month", "kind", "revision"]
        )
        batch.drop_column("party_label")
        batch.drop_column("party_id")
