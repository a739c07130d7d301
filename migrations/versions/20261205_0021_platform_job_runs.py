"""platform: the durable scheduler's job runs; core_banking: statements issued at month end

Revision ID: 20261205_0021
Revises: 20261205_0020
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261205_0021"
down_revision: str | Sequence[str] | None = "20261205_0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "trigger",
            sa.Enum(
                "schedule",
                "manual",
                name="job_run_trigger",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema="platform",
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "RUNNING",
                "SUCCEEDED",
                "FAILED",
                name="job_run_status",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema="platform",
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_job_runs_attempts_not_negative")),
        sa.CheckConstraint(
            "status <> 'RUNNING' OR (claimed_by IS NOT NULL AND heartbeat_at IS NOT NULL)",
            name=op.f("ck_job_runs_running_is_claimed"),
        ),
        sa.CheckConstraint(
            "(status IN ('SUCCEEDED', 'FAILED')) = (finished_at IS NOT NULL)",
            name=op.f("ck_job_runs_finished_when_final"),
        ),
        sa.PrimaryKeyConstraint("job", "due_at", name=op.f("pk_job_runs")),
        schema="platform",
    )
    op.create_index(
        "ix_job_runs_unfinished",
        "job_runs",
        ["job", "due_at"],
        schema="platform",
        postgresql_where=sa.text("status IN ('PENDING', 'RUNNING')"),
    )
    op.create_index("ix_job_runs_due_at", "job_runs", ["due_at"], schema="platform")
    op.create_table(
        "statement_issues",
        sa.Column("account_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("closing_balance_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("extract(day FROM month) = 1", name=op.f("ck_statement_issues_month_start")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["core_banking.accounts.id"], name=op.f("fk_statement_issues_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "month", name=op.f("pk_statement_issues")),
        schema="core_banking",
    )


def downgrade() -> None:
    op.drop_table("statement_issues", schema="core_banking")
    op.drop_index("ix_job_runs_due_at", table_name="job_runs", schema="platform")
    op.drop_index("ix_job_runs_unfinished", table_name="job_runs", schema="platform")
    op.drop_table("job_runs", schema="platform")
