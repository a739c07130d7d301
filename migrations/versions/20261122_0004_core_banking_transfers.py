"""core_banking: customer transfers, interest accruals and postings, reconciliation runs

Revision ID: 20261122_0004
Revises: 20261122_0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261122_0004"
down_revision: str | Sequence[str] | None = "20261122_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "core_banking"
UNITS_PER_MINOR = 3_650_000


def upgrade() -> None:
    op.create_table(
        "transfers",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("customer_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("source_account_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("destination_account_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("description", sa.String(length=140), nullable=False),
        sa.Column(
            "status",
            sa.Enum("COMPLETED", name="transfer_status", native_enum=False, create_constraint=True, length=16),
            nullable=False,
        ),
        sa.Column("entry_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_transfers_amount_positive")),
        sa.CheckConstraint("source_account_id <> destination_account_id", name=op.f("ck_transfers_distinct_accounts")),
        sa.ForeignKeyConstraint(
            ["source_account_id", "currency"],
            [f"{SCHEMA}.accounts.id", f"{SCHEMA}.accounts.currency"],
            name="fk_transfers_source_account_currency_accounts",
        ),
        sa.ForeignKeyConstraint(
            ["destination_account_id", "currency"],
            [f"{SCHEMA}.accounts.id", f"{SCHEMA}.accounts.currency"],
            name="fk_transfers_destination_account_currency_accounts",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], [f"{SCHEMA}.journal_entries.id"], name=op.f("fk_transfers_entry_id_journal_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_transfers_entry_id")),
        schema=SCHEMA,
    )
    op.create_index("ix_transfers_customer_created", "transfers", ["customer_id", "created_at"], schema=SCHEMA)

    op.create_table(
        "interest_accruals",
        sa.Column("account_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("accrual_date", sa.Date(), nullable=False),
        sa.Column("balance_minor", sa.BigInteger(), nullable=False),
        sa.Column("rate_bps", sa.Integer(), nullable=False),
        sa.Column("interest_units", sa.Numeric(38, 0), nullable=False),
        sa.Column("accrued_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("balance_minor > 0 AND rate_bps > 0", name=op.f("ck_interest_accruals_earning")),
        sa.CheckConstraint(
            "interest_units = balance_minor::numeric * rate_bps", name=op.f("ck_interest_accruals_exact")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], [f"{SCHEMA}.accounts.id"], name=op.f("fk_interest_accruals_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "accrual_date", name=op.f("pk_interest_accruals")),
        schema=SCHEMA,
    )
    op.create_table(
        "interest_postings",
        sa.Column("account_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("accrued_units", sa.Numeric(38, 0), nullable=False),
        sa.Column("carried_in_units", sa.Numeric(38, 0), nullable=False),
        sa.Column("paid_minor", sa.BigInteger(), nullable=False),
        sa.Column("carried_out_units", sa.Numeric(38, 0), nullable=False),
        sa.Column("entry_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("extract(day FROM month) = 1", name=op.f("ck_interest_postings_month_start")),
        sa.CheckConstraint(
            f"accrued_units >= 0 AND paid_minor >= 0 AND carried_in_units >= 0 AND carried_in_units < {UNITS_PER_MINOR}"
            f" AND carried_out_units >= 0 AND carried_out_units < {UNITS_PER_MINOR}",
            name=op.f("ck_interest_postings_units_in_range"),
        ),
        sa.CheckConstraint(
            f"accrued_units + carried_in_units = paid_minor::numeric * {UNITS_PER_MINOR} + carried_out_units",
            name=op.f("ck_interest_postings_nothing_lost"),
        ),
        sa.CheckConstraint(
            "paid_minor > 0 OR entry_id IS NULL", name=op.f("ck_interest_postings_entry_only_when_paid")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], [f"{SCHEMA}.accounts.id"], name=op.f("fk_interest_postings_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], [f"{SCHEMA}.journal_entries.id"], name=op.f("fk_interest_postings_entry_id_journal_entries")
        ),
        sa.PrimaryKeyConstraint("account_id", "month", name=op.f("pk_interest_postings")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_interest_postings_entry_id")),
        schema=SCHEMA,
    )
    op.create_index(
        "uq_journal_entries_interest_reference",
        "journal_entries",
        ["reference"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("kind = 'INTEREST'"),
    )

    op.create_table(
        "reconciliation_runs",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accounts_checked", sa.Integer(), nullable=False),
        sa.Column("entries_checked", sa.Integer(), nullable=False),
        sa.Column("holds_checked", sa.Integer(), nullable=False),
        sa.Column("discrepancy_count", sa.Integer(), nullable=False),
        sa.Column("discrepancies", postgresql.JSONB(), nullable=False),
        sa.CheckConstraint(
            "discrepancy_count >= 0 AND finished_at >= started_at", name=op.f("ck_reconciliation_runs_sane")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_runs")),
        schema=SCHEMA,
    )
    op.create_index("ix_reconciliation_runs_started_at", "reconciliation_runs", ["started_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_reconciliation_runs_started_at", table_name="reconciliation_runs", schema=SCHEMA)
    op.drop_table("reconciliation_runs", schema=SCHEMA)
    op.drop_index("uq_journal_entries_interest_reference", table_name="journal_entries", schema=SCHEMA)
    op.drop_table("interest_postings", schema=SCHEMA)
    op.drop_table("interest_accruals", schema=SCHEMA)
    op.drop_index("ix_transfers_customer_created", table_name="transfers", schema=SCHEMA)
    op.drop_table("transfers", schema=SCHEMA)
