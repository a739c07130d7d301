"""core_banking: payees (a customer's saved beneficiaries) and confirmation-of-payee checks

Revision ID: 20261205_0020
Revises: 20261205_0019
Create Date: 2026-12-05

A payee's name and nickname, and both names of a check, are sealed to their row. One active payee per
customer and account (a partial unique index: a deleted payee's row stays for what named it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261205_0020"
down_revision: str | Sequence[str] | None = "20261205_0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SCHEMA = "core_banking"


def _cop_result(name: str) -> sa.Enum:
    return sa.Enum(
        "MATCH",
        "CLOSE_MATCH",
        "NO_MATCH",
        "UNAVAILABLE",
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        schema=_SCHEMA,
    )


def upgrade() -> None:
    op.create_table(
        "payee_confirmations",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("customer_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("sort_code", sa.String(length=6), nullable=False),
        sa.Column("account_number", sa.String(length=8), nullable=False),
        sa.Column("name_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("actual_name_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("result", _cop_result("payee_confirmation_result"), nullable=False),
        sa.Column("reason", sa.String(length=4), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(result = 'CLOSE_MATCH') = (actual_name_sealed IS NOT NULL)",
            name=op.f("ck_payee_confirmations_close_match_names"),
        ),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_payee_confirmations_expires_after_created")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["core_banking.customers.id"], name=op.f("fk_payee_confirmations_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payee_confirmations")),
        schema=_SCHEMA,
    )
    op.create_index(
        "ix_payee_confirmations_customer",
        "payee_confirmations",
        ["customer_id", "created_at"],
        unique=False,
        schema=_SCHEMA,
    )
    op.create_table(
        "payees",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("customer_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("name_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("nickname_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("scheme", sa.String(length=40), nullable=False),
        sa.Column("identification", sa.String(length=34), nullable=False),
        sa.Column("sort_code", sa.String(length=6), nullable=False),
        sa.Column("account_number", sa.String(length=8), nullable=False),
        sa.Column("reference", sa.String(length=18), nullable=True),
        sa.Column("confirmation_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("cop_result", _cop_result("payee_cop_result"), nullable=False),
        sa.Column("cop_reason", sa.String(length=4), nullable=True),
        sa.Column("cooling_off_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("cooling_off_until >= created_at", name=op.f("ck_payees_cooling_off_after_created")),
        sa.CheckConstraint(
            "deleted_at IS NULL OR deleted_at >= created_at", name=op.f("ck_payees_deleted_after_created")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["core_banking.customers.id"], name=op.f("fk_payees_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["confirmation_id"],
            ["core_banking.payee_confirmations.id"],
            name=op.f("fk_payees_confirmation_id_payee_confirmations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payees")),
        schema=_SCHEMA,
    )
    op.create_index("ix_payees_customer", "payees", ["customer_id", "created_at"], unique=False, schema=_SCHEMA)
    op.create_index(
        "uq_payees_active_account",
        "payees",
        ["customer_id", "sort_code", "account_number"],
        unique=True,
        schema=_SCHEMA,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("payees", schema=_SCHEMA)
    op.drop_table("payee_confirmations", schema=_SCHEMA)
