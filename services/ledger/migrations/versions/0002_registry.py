"""The registry: members, cards, machines, qualifications; replayed dead letters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Billing's tables (tariffs, cost pools, statements) come in a migration of their own.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the registry tables and mark replayed dead letters."""
    op.create_table(
        "members",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
    )
    op.create_table(
        "machines",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("idle_amps", sa.Double(), nullable=False),
        sa.Column("run_amps", sa.Double(), nullable=False),
        sa.Column("hysteresis_amps", sa.Double(), nullable=False),
        sa.Column("min_dwell_s", sa.Double(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "idle_amps > 0 AND run_amps > idle_amps",
            name=op.f("ck_machines_thresholds_ordered"),
        ),
        sa.CheckConstraint(
            "hysteresis_amps >= 0 AND hysteresis_amps < idle_amps",
            name=op.f("ck_machines_hysteresis_fits"),
        ),
        sa.CheckConstraint("min_dwell_s >= 0", name=op.f("ck_machines_dwell_not_negative")),
        sa.PrimaryKeyConstraint("site", "id", name=op.f("pk_machines")),
    )
    op.create_table(
        "cards",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("card_hash", sa.String(length=64), nullable=False),
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member"], ["members.id"], name=op.f("fk_cards_member_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("site", "card_hash", name=op.f("pk_cards")),
    )
    op.create_index("ix_cards_member", "cards", ["member"])
    op.create_table(
        "qualifications",
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("machine", sa.String(length=64), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("granted_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["member"],
            ["members.id"],
            name=op.f("fk_qualifications_member_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site", "machine"],
            ["machines.site", "machines.id"],
            name=op.f("fk_qualifications_site_machines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member", "site", "machine", name=op.f("pk_qualifications")),
    )
    op.create_index("ix_qualifications_site_machine", "qualifications", ["site", "machine"])
    with op.batch_alter_table("dead_letters") as batch:
        batch.add_column(sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop the registry tables and the replay mark."""
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_column("replayed_at")
    op.drop_index("ix_qualifications_site_machine", table_name="qualifications")
    op.drop_table("qualifications")
    op.drop_index("ix_cards_member", table_name="cards")
    op.drop_table("cards")
    op.drop_table("machines")
    op.drop_table("members")
