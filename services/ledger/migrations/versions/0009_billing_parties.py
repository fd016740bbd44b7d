"""Billing parties: whom each member's documents are made out to, and the party of each card.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create `billing_parties` and add `cards.party_id` (empty: the member's default)."""
    op.create_table(
        "billing_parties",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=True),
        sa.Column("first_name", sa.String(length=60), nullable=True),
        sa.Column("last_name", sa.String(length=60), nullable=True),
        sa.Column("fiscal_code", sa.String(length=16), nullable=True),
        sa.Column("vat_number", sa.String(length=11), nullable=True),
        sa.Column("street", sa.String(length=60), nullable=False),
        sa.Column("civic_number", sa.String(length=8), nullable=True),
        sa.Column("cap", sa.String(length=5), nullable=False),
        sa.Column("comune", sa.String(length=60), nullable=False),
        sa.Column("provincia", sa.String(length=2), nullable=True),
        sa.Column("nazione", sa.String(length=2), nullable=False),
        sa.Column("recipient_code", sa.String(length=7), nullable=True),
        sa.Column("pec", sa.String(length=256), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member"],
            ["members.id"],
            name=op.f("fk_billing_parties_member_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_parties")),
    )
    op.create_index("ix_billing_parties_member", "billing_parties", ["member"])
    with op.batch_alter_table("cards") as cards:
        cards.add_column(sa.Column("party_id", sa.Integer(), nullable=True))
        cards.create_foreign_key(
            op.f("fk_cards_party_id_billing_parties"),
            "billing_parties",
            ["party_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    """Drop what upgrade added."""
    with op.batch_alter_table("cards") as cards:
        cards.drop_constraint(op.f("fk_cards_party_id_billing_parties"), type_="foreignkey")
        cards.drop_column("party_id")
    op.drop_index("ix_billing_parties_member", table_name="billing_parties")
    op.drop_table("billing_parties")
