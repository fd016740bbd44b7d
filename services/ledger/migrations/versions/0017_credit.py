"""Credit and packs: members' credit movements, the pack catalogue, packs bought, and plans that
require credit at the gateways.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create `credit_entries`, `pack_products` and `packs`; add `plans.requires_credit`."""
    with op.batch_alter_table("plans") as batch:
        batch.add_column(
            sa.Column(
                "requires_credit", sa.Boolean(), server_default=sa.text("false"), nullable=False
            )
        )
    op.create_table(
        "credit_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("statement_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(kind = 'top_up' AND amount_cents > 0) OR (kind <> 'top_up' AND amount_cents < 0)",
            name=op.f("ck_credit_entries_sign_follows_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_credit_entries_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name=op.f("fk_credit_entries_statement_id_statements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_entries")),
        sa.UniqueConstraint("payment_id", name="uq_credit_entries_payment_id"),
    )
    op.create_index("ix_credit_entries_member", "credit_entries", ["member"])
    op.create_table(
        "pack_products",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("meter", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("vat_bp", sa.Integer(), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("machine", sa.String(length=64), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_pack_products_quantity_positive")),
        sa.CheckConstraint("price_cents >= 0", name=op.f("ck_pack_products_price_not_negative")),
        sa.CheckConstraint(
            "vat_bp BETWEEN 0 AND 10000", name=op.f("ck_pack_products_vat_is_a_rate")
        ),
        sa.CheckConstraint("valid_days > 0", name=op.f("ck_pack_products_valid_days_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pack_products")),
        sa.UniqueConstraint("name", name="uq_pack_products_name"),
    )
    op.create_table(
        "packs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("meter", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("vat_bp", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("machine", sa.String(length=64), nullable=False),
        sa.Column("bought_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_packs_quantity_positive")),
        sa.CheckConstraint("price_cents >= 0", name=op.f("ck_packs_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["product_id"], ["pack_products.id"], name=op.f("fk_packs_product_id_pack_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packs")),
    )
    op.create_index("ix_packs_member", "packs", ["member"])


def downgrade() -> None:
    """Drop the packs, the catalogue and the credit entries, and the plans' credit flag."""
    op.drop_index("ix_packs_member", table_name="packs")
    op.drop_table("packs")
    op.drop_table("pack_products")
    op.drop_index("ix_credit_entries_member", table_name="credit_entries")
    op.drop_table("credit_entries")
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("requires_credit")
