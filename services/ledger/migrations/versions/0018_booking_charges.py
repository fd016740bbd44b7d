"""Booking charges: a tariff may carry a fee per booking used and a charge per no-show.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `booking_fee_cents` and `no_show_cents` to `tariffs`, 0 for the tariffs there are."""
    with op.batch_alter_table("tariffs") as batch:
        batch.add_column(
            sa.Column("booking_fee_cents", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("no_show_cents", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.create_check_constraint(
            "booking_charges_not_negative", "booking_fee_cents >= 0 AND no_show_cents >= 0"
        )


def downgrade() -> None:
    """Drop the booking charges."""
    with op.batch_alter_table("tariffs") as batch:
        batch.drop_constraint("booking_charges_not_negative", type_="check")
        batch.drop_column("no_show_cents")
        batch.drop_column("booking_fee_cents")
