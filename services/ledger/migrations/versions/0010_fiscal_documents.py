"""Fiscal documents: the FatturaPA XML of each statement issued in fattura mode.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create `fiscal_documents`, one row per issued statement that has a FatturaPA."""
    op.create_table(
        "fiscal_documents",
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=4), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("progressivo", sa.String(length=5), nullable=False),
        sa.Column("file_name", sa.String(length=40), nullable=False),
        sa.Column("party", sa.Text(), nullable=False),
        sa.Column("xml", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("type IN ('TD01', 'TD04')", name=op.f("ck_fiscal_documents_type_known")),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name=op.f("fk_fiscal_documents_statement_id_statements"),
        ),
        sa.PrimaryKeyConstraint("statement_id", name=op.f("pk_fiscal_documents")),
        sa.UniqueConstraint("sequence", name="uq_fiscal_documents_sequence"),
        sa.UniqueConstraint("file_name", name="uq_fiscal_documents_file_name"),
    )


def downgrade() -> None:
    """Drop the fiscal documents."""
    op.drop_table("fiscal_documents")
