"""Machines' photos, kept in the ledger beside the machine they show.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the photos table."""
    op.create_table(
        "machine_photos",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("machine", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site", "machine"],
            ["machines.site", "machines.id"],
            name=op.f("fk_machine_photos_site_machines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site", "machine", name=op.f("pk_machine_photos")),
    )


def downgrade() -> None:
    """Drop the photos table."""
    op.drop_table("machine_photos")
