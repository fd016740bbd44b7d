"""Payments: credits read from bank statements, each matched to the issued statement it pays,
and when an overdue statement's member was last reminded.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create `payments` (one row per credit, booked once by its key) and `payment_reminders`."""
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=140), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("booked", sa.Date(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payer", sa.Text(), nullable=False),
        sa.Column("remittance", sa.Text(), nullable=False),
        sa.Column("creditor_reference", sa.String(length=35), nullable=True),
        sa.Column("statement_id", sa.Integer(), nullable=True),
        sa.Column("matched_by", sa.String(length=16), nullable=True),
        sa.Column("not_ours", sa.Boolean(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_by", sa.Text(), nullable=True),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_payments_amount_positive")),
        sa.CheckConstraint(
            "NOT (not_ours AND statement_id IS NOT NULL)", name=op.f("ck_payments_ours_if_assigned")
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"], ["statements.id"], name=op.f("fk_payments_statement_id_statements")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("key", name="uq_payments_key"),
    )
    op.create_index("ix_payments_statement_id", "payments", ["statement_id"])
    op.create_table(
        "payment_reminders",
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("reminded_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name=op.f("fk_payment_reminders_statement_id_statements"),
        ),
        sa.PrimaryKeyConstraint("statement_id", name=op.f("pk_payment_reminders")),
    )


def downgrade() -> None:
    """Drop the payments and the reminders."""
    op.drop_table("payment_reminders")
    op.drop_index("ix_payments_statement_id", table_name="payments")
    op.drop_table("payments")
