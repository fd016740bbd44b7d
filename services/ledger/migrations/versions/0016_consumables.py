"""Consumables: a catalogue of items with price, VAT and stock, the machines that offer them,
what members took (priced when taken) and what was restocked.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create `consumable_items`, `consumable_machines`, `consumable_takes` and restocks."""
    op.create_table(
        "consumable_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("vat_bp", sa.Integer(), nullable=False),
        sa.Column("stock", sa.BigInteger(), nullable=False),
        sa.Column("low_stock", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("price_cents >= 0", name=op.f("ck_consumable_items_price_not_negative")),
        sa.CheckConstraint(
            "vat_bp BETWEEN 0 AND 10000", name=op.f("ck_consumable_items_vat_is_a_rate")
        ),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_consumable_items_stock_not_negative")),
        sa.CheckConstraint(
            "low_stock >= 0", name=op.f("ck_consumable_items_low_stock_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consumable_items")),
        sa.UniqueConstraint("name", name="uq_consumable_items_name"),
    )
    op.create_table(
        "consumable_machines",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("machine", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["consumable_items.id"],
            name=op.f("fk_consumable_machines_item_id_consumable_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "site", "machine", name=op.f("pk_consumable_machines")),
    )
    op.create_table(
        "consumable_takes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=True),
        sa.Column("machine", sa.String(length=64), nullable=True),
        sa.Column("item_name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("vat_bp", sa.Integer(), nullable=False),
        sa.Column("net_cents", sa.BigInteger(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_consumable_takes_quantity_positive")),
        sa.CheckConstraint(
            "net_cents = quantity * unit_price_cents",
            name=op.f("ck_consumable_takes_net_is_priced"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["consumable_items.id"],
            name=op.f("fk_consumable_takes_item_id_consumable_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consumable_takes")),
    )
    op.create_index("ix_consumable_takes_taken_at", "consumable_takes", ["taken_at"])
    op.create_index("ix_consumable_takes_member", "consumable_takes", ["member"])
    op.create_table(
        "consumable_restocks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("restocked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_consumable_restocks_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["consumable_items.id"],
            name=op.f("fk_consumable_restocks_item_id_consumable_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consumable_restocks")),
    )
    op.create_index("ix_consumable_restocks_item_id", "consumable_restocks", ["item_id"])


def downgrade() -> None:
    """Drop the consumables' tables."""
    op.drop_index("ix_consumable_restocks_item_id", table_name="consumable_restocks")
    op.drop_table("consumable_restocks")
    op.drop_index("ix_consumable_takes_member", table_name="consumable_takes")
    op.drop_index("ix_consumable_takes_taken_at", table_name="consumable_takes")
    op.drop_table("consumable_takes")
    op.drop_table("consumable_machines")
    op.drop_table("consumable_items")
