"""Billing: tariffs, plans, weights, cost pools, statements, their numbers and the run log.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Money is integer cents, prices integer micro-euros per unit, quantities integer milli-units.
Also an index on sessions.ended: billing reads a month's sessions by when they ended.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create billing's tables."""
    op.create_table(
        "billing_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("statements", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_runs")),
    )
    op.create_index("ix_billing_runs_month_step", "billing_runs", ["month", "step"])
    op.create_table(
        "cost_pools",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("weight_set", sa.String(length=64), nullable=True),
        sa.Column("billed_quantity", sa.BigInteger(), nullable=True),
        sa.Column("remainder_key", sa.String(length=16), nullable=True),
        sa.Column("remainder_weight_set", sa.String(length=64), nullable=True),
        sa.Column("vat_bp", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("total_cents >= 0", name=op.f("ck_cost_pools_total_not_negative")),
        sa.CheckConstraint("vat_bp BETWEEN 0 AND 10000", name=op.f("ck_cost_pools_vat_is_a_rate")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cost_pools")),
        sa.UniqueConstraint("month", "name", name="uq_cost_pools_month_name"),
    )
    op.create_index("ix_cost_pools_month", "cost_pools", ["month"])
    op.create_table(
        "plans",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("monthly_fee_cents", sa.BigInteger(), nullable=False),
        sa.Column("vat_bp", sa.Integer(), nullable=False),
        sa.CheckConstraint("monthly_fee_cents >= 0", name=op.f("ck_plans_fee_not_negative")),
        sa.CheckConstraint("vat_bp BETWEEN 0 AND 10000", name=op.f("ck_plans_vat_is_a_rate")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_plans")),
    )
    op.create_table(
        "statement_numbers",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_statement_numbers")),
    )
    op.create_table(
        "statements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("number_year", sa.Integer(), nullable=True),
        sa.Column("number_seq", sa.Integer(), nullable=True),
        sa.Column("credits_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("member_name", sa.String(length=200), nullable=False),
        sa.Column("member_email", sa.String(length=200), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("net_cents", sa.BigInteger(), nullable=False),
        sa.Column("vat_cents", sa.BigInteger(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'issued') = (number_seq IS NOT NULL)",
            name=op.f("ck_statements_issued_iff_numbered"),
        ),
        sa.CheckConstraint(
            "kind IN ('statement', 'credit_note')", name=op.f("ck_statements_kind_known")
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'issued')", name=op.f("ck_statements_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["credits_id"], ["statements.id"], name=op.f("fk_statements_credits_id_statements")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
        sa.UniqueConstraint(
            "member", "month", "kind", "revision", name="uq_statements_member_month"
        ),
        sa.UniqueConstraint("number_year", "number_seq", name="uq_statements_number"),
    )
    op.create_index("ix_statements_month_status", "statements", ["month", "status"])
    op.create_table(
        "tariffs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("machine", sa.String(length=64), nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("per_running_minute_micros", sa.BigInteger(), nullable=False),
        sa.Column("per_unlocked_minute_micros", sa.BigInteger(), nullable=False),
        sa.Column("per_kwh_micros", sa.BigInteger(), nullable=False),
        sa.Column("minimum_cents", sa.BigInteger(), nullable=False),
        sa.Column("vat_bp", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "per_running_minute_micros >= 0 AND per_unlocked_minute_micros >= 0"
            " AND per_kwh_micros >= 0 AND minimum_cents >= 0",
            name=op.f("ck_tariffs_prices_not_negative"),
        ),
        sa.CheckConstraint("vat_bp BETWEEN 0 AND 10000", name=op.f("ck_tariffs_vat_is_a_rate")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tariffs")),
        sa.UniqueConstraint("site", "machine", "plan", "valid_from", name="uq_tariffs_scope_day"),
    )
    op.create_table(
        "billing_profiles",
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["member"],
            ["members.id"],
            name=op.f("fk_billing_profiles_member_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member", name=op.f("pk_billing_profiles")),
    )
    op.create_table(
        "cost_pool_machines",
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("machine", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["cost_pools.id"],
            name=op.f("fk_cost_pool_machines_pool_id_cost_pools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pool_id", "site", "machine", name=op.f("pk_cost_pool_machines")),
    )
    op.create_table(
        "member_plans",
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["member"],
            ["members.id"],
            name=op.f("fk_member_plans_member_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["plan"], ["plans.name"], name=op.f("fk_member_plans_plan_plans")),
        sa.PrimaryKeyConstraint("member", "valid_from", name=op.f("pk_member_plans")),
    )
    op.create_table(
        "plan_allowances",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("meter", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("machine", sa.String(length=64), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_plan_allowances_quantity_not_negative")),
        sa.ForeignKeyConstraint(
            ["plan"], ["plans.name"], name=op.f("fk_plan_allowances_plan_plans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_allowances")),
    )
    op.create_index("ix_plan_allowances_plan", "plan_allowances", ["plan"])
    op.create_table(
        "statement_lines",
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("site", sa.String(length=64), nullable=True),
        sa.Column("machine", sa.String(length=64), nullable=True),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("started", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended", sa.DateTime(timezone=True), nullable=True),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("running_ms", sa.BigInteger(), nullable=True),
        sa.Column("unlocked_ms", sa.BigInteger(), nullable=True),
        sa.Column("energy_mwh", sa.BigInteger(), nullable=True),
        sa.Column("free_ms", sa.BigInteger(), nullable=True),
        sa.Column("key", sa.String(length=16), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=True),
        sa.Column("key_total", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("net_cents", sa.BigInteger(), nullable=False),
        sa.Column("vat_bp", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name=op.f("fk_statement_lines_statement_id_statements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("statement_id", "position", name=op.f("pk_statement_lines")),
    )
    op.create_table(
        "weights",
        sa.Column("weight_set", sa.String(length=64), nullable=False),
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("weight_milli", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("weight_milli >= 0", name=op.f("ck_weights_weight_not_negative")),
        sa.ForeignKeyConstraint(
            ["member"], ["members.id"], name=op.f("fk_weights_member_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("weight_set", "member", name=op.f("pk_weights")),
    )
    op.create_index("ix_sessions_ended", "sessions", ["ended"])


def downgrade() -> None:
    """Drop billing's tables."""
    op.drop_index("ix_sessions_ended", table_name="sessions")
    op.drop_table("weights")
    op.drop_table("statement_lines")
    op.drop_index("ix_plan_allowances_plan", table_name="plan_allowances")
    op.drop_table("plan_allowances")
    op.drop_table("member_plans")
    op.drop_table("cost_pool_machines")
    op.drop_table("billing_profiles")
    op.drop_table("tariffs")
    op.drop_index("ix_statements_month_status", table_name="statements")
    op.drop_table("statements")
    op.drop_table("statement_numbers")
    op.drop_table("plans")
    op.drop_index("ix_cost_pools_month", table_name="cost_pools")
    op.drop_table("cost_pools")
    op.drop_index("ix_billing_runs_month_step", table_name="billing_runs")
    op.drop_table("billing_runs")
