"""Bookings: each machine's booking rules and the slots booked on it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create `booking_rules` (one row per bookable machine) and `bookings`."""
    op.create_table(
        "booking_rules",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("machine", sa.String(length=64), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), server_default="60", nullable=False),
        sa.Column("horizon_days", sa.Integer(), server_default="14", nullable=False),
        sa.Column("max_open", sa.Integer(), server_default="3", nullable=False),
        sa.Column("grace_minutes", sa.Integer(), server_default="15", nullable=False),
        sa.Column("notice_minutes", sa.Integer(), server_default="60", nullable=False),
        sa.Column("warn_before_minutes", sa.Integer(), server_default="10", nullable=False),
        sa.Column("qualified_only", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("plans", sa.Text(), server_default="", nullable=False),
        sa.Column("hours", sa.Text(), server_default="", nullable=False),
        sa.Column("closures", sa.Text(), server_default="", nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "slot_minutes > 0 AND slot_minutes <= 1440",
            name=op.f("ck_booking_rules_slot_fits_a_day"),
        ),
        sa.CheckConstraint("horizon_days > 0", name=op.f("ck_booking_rules_horizon_positive")),
        sa.CheckConstraint("max_open > 0", name=op.f("ck_booking_rules_max_open_positive")),
        sa.CheckConstraint(
            "grace_minutes >= 0 AND notice_minutes >= 0 AND warn_before_minutes >= 0",
            name=op.f("ck_booking_rules_minutes_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["site", "machine"],
            ["machines.site", "machines.id"],
            name=op.f("fk_booking_rules_site_machines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site", "machine", name=op.f("pk_booking_rules")),
    )
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("machine", sa.String(length=64), nullable=False),
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_bookings_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["site", "machine"],
            ["machines.site", "machines.id"],
            name=op.f("fk_bookings_site_machines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
    )
    op.create_index(
        "ix_bookings_site_machine_starts_at", "bookings", ["site", "machine", "starts_at"]
    )
    op.create_index("ix_bookings_member", "bookings", ["member"])


def downgrade() -> None:
    """Drop the bookings and the rules."""
    op.drop_index("ix_bookings_member", table_name="bookings")
    op.drop_index("ix_bookings_site_machine_starts_at", table_name="bookings")
    op.drop_table("bookings")
    op.drop_table("booking_rules")
