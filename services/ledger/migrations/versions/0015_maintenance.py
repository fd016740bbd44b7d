"""Maintenance: staff qualifications, service tasks by running hours or days, faults reported on
a machine, and the service log of what was done.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _on_machine(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["site", "machine"],
        ["machines.site", "machines.id"],
        name=op.f(f"fk_{table}_site_machines"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    """Add `qualifications.staff` and the tasks, faults and service-log tables."""
    with op.batch_alter_table("qualifications") as batch:
        batch.add_column(
            sa.Column("staff", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "maintenance_tasks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("machine", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("every_running_s", sa.Integer(), nullable=True),
        sa.Column("every_days", sa.Integer(), nullable=True),
        sa.Column("critical", sa.Boolean(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "every_running_s IS NOT NULL OR every_days IS NOT NULL",
            name=op.f("ck_maintenance_tasks_due_by_something"),
        ),
        sa.CheckConstraint(
            "every_running_s IS NULL OR every_running_s > 0",
            name=op.f("ck_maintenance_tasks_hours_positive"),
        ),
        sa.CheckConstraint(
            "every_days IS NULL OR every_days > 0", name=op.f("ck_maintenance_tasks_days_positive")
        ),
        _on_machine("maintenance_tasks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_tasks")),
    )
    op.create_index("ix_maintenance_tasks_site_machine", "maintenance_tasks", ["site", "machine"])
    op.create_table(
        "machine_faults",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("machine", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_by", sa.String(length=200), nullable=False),
        sa.Column("photo", sa.LargeBinary(), nullable=True),
        sa.Column("photo_type", sa.String(length=32), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        _on_machine("machine_faults"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_machine_faults")),
    )
    op.create_index("ix_machine_faults_site_machine", "machine_faults", ["site", "machine"])
    op.create_table(
        "service_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("machine", sa.String(length=64), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("fault_id", sa.Integer(), nullable=True),
        sa.Column("what", sa.String(length=200), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_by", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("parts", sa.Text(), nullable=False),
        _on_machine("service_log"),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["maintenance_tasks.id"],
            name=op.f("fk_service_log_task_id_maintenance_tasks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["fault_id"],
            ["machine_faults.id"],
            name=op.f("fk_service_log_fault_id_machine_faults"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_log")),
    )
    op.create_index("ix_service_log_site_machine", "service_log", ["site", "machine"])


def downgrade() -> None:
    """Drop the maintenance tables and `qualifications.staff`."""
    op.drop_table("service_log")
    op.drop_table("machine_faults")
    op.drop_table("maintenance_tasks")
    with op.batch_alter_table("qualifications") as batch:
        batch.drop_column("staff")
