"""Each machine's whole policy in the registry, and the versions of each gateway's config.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the session rules to machines, and the config versions table."""
    # Machines registered before take the rules a gateway ran by when gateway.toml left them out.
    with op.batch_alter_table("machines") as machines:
        machines.add_column(
            sa.Column("idle_timeout_s", sa.Double(), nullable=False, server_default="900")
        )
        machines.add_column(
            sa.Column("max_duration_s", sa.Double(), nullable=False, server_default="28800")
        )
        machines.add_column(
            sa.Column("warn_before_s", sa.Double(), nullable=False, server_default="60")
        )
    op.create_table(
        "gateway_config_versions",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("machines", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site", "gateway", name=op.f("pk_gateway_config_versions")),
    )


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_table("gateway_config_versions")
    with op.batch_alter_table("machines") as machines:
        machines.drop_column("warn_before_s")
        machines.drop_column("max_duration_s")
        machines.drop_column("idle_timeout_s")
