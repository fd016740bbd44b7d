"""Consumables: an item may be retired, and a take may name the billing party it goes to.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `consumable_items.retired_at` and `consumable_takes.party_id` (empty for past rows)."""
    with op.batch_alter_table("consumable_items") as items:
        items.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("consumable_takes") as takes:
        takes.add_column(sa.Column("party_id", sa.Integer(), nullable=True))
        takes.create_foreign_key(
            op.f("fk_consumable_takes_party_id_billing_parties"),
            "billing_parties",
            ["party_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    """Drop what upgrade added."""
    with op.batch_alter_table("consumable_takes") as takes:
        takes.drop_constraint(
            op.f("fk_consumable_takes_party_id_billing_parties"), type_="foreignkey"
        )
        takes.drop_column("party_id")
    with op.batch_alter_table("consumable_items") as items:
        items.drop_column("retired_at")
