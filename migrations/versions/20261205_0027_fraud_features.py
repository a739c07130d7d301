"""fraud: features the decision path reads (profiles, attempts, payees, sign-ins, mule list, allow-list)

Revision ID: 20261205_0027
Revises: 20261205_0026
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261205_0027"
down_revision: str | Sequence[str] | None = "20261205_0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SCHEMA = "fraud"
_UUID = postgresql.UUID(as_uuid=True)
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {_SCHEMA}")
    op.create_table(
        "customer_profiles",
        sa.Column("customer_id", _UUID, nullable=False),
        sa.Column("settled_count", sa.BigInteger(), nullable=False),
        sa.Column("recent_amounts", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("recent_created_at", postgresql.ARRAY(_AT), nullable=False),
        sa.Column("hour_counts", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("password_changed_at", _AT, nullable=True),
        sa.Column("totp_changed_at", _AT, nullable=True),
        sa.CheckConstraint("cardinality(hour_counts) = 24", name=op.f("ck_customer_profiles_hours_of_day")),
        sa.CheckConstraint(
            "cardinality(recent_amounts) = cardinality(recent_created_at)",
            name=op.f("ck_customer_profiles_recent_pairs"),
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_profiles")),
        schema=_SCHEMA,
    )
    op.create_table(
        "payment_attempts",
        sa.Column("payment_id", _UUID, nullable=False),
        sa.Column("customer_id", _UUID, nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_payment_attempts")),
        schema=_SCHEMA,
    )
    op.create_index("ix_payment_attempts_customer", "payment_attempts", ["customer_id", "created_at"], schema=_SCHEMA)
    op.create_table(
        "known_creditors",
        sa.Column("customer_id", _UUID, nullable=False),
        sa.Column("creditor_account", sa.String(length=14), nullable=False),
        sa.Column("first_paid_at", _AT, nullable=False),
        sa.Column("last_paid_at", _AT, nullable=False),
        sa.Column("paid_count", sa.BigInteger(), nullable=False),
        sa.Column("amount_sum_minor", sa.Numeric(precision=38, scale=0), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "creditor_account", name=op.f("pk_known_creditors")),
        schema=_SCHEMA,
    )
    op.create_table(
        "saved_payees",
        sa.Column("payee_id", _UUID, nullable=False),
        sa.Column("customer_id", _UUID, nullable=False),
        sa.Column("added_at", _AT, nullable=False),
        sa.Column("cooling_off_until", _AT, nullable=False),
        sa.PrimaryKeyConstraint("payee_id", name=op.f("pk_saved_payees")),
        schema=_SCHEMA,
    )
    op.create_index("ix_saved_payees_customer", "saved_payees", ["customer_id", "added_at"], schema=_SCHEMA)
    op.create_table(
        "sign_ins",
        sa.Column("session_id", sa.String(length=128), nullable=False),
        sa.Column("customer_id", _UUID, nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("device_hash", sa.String(length=128), nullable=True),
        sa.Column("new_device", sa.Boolean(), nullable=False),
        sa.Column("signed_in_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_sign_ins")),
        schema=_SCHEMA,
    )
    op.create_index("ix_sign_ins_customer", "sign_ins", ["customer_id", "signed_in_at"], schema=_SCHEMA)
    op.create_table(
        "known_devices",
        sa.Column("customer_id", _UUID, nullable=False),
        sa.Column("device_hash", sa.String(length=128), nullable=False),
        sa.Column("first_seen_at", _AT, nullable=False),
        sa.Column("last_seen_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "device_hash", name=op.f("pk_known_devices")),
        schema=_SCHEMA,
    )
    op.create_table(
        "mule_accounts",
        sa.Column("creditor_account", sa.String(length=14), nullable=False),
        sa.Column("reason_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("marked_at", _AT, nullable=False),
        sa.Column("alert_id", _UUID, nullable=True),
        sa.PrimaryKeyConstraint("creditor_account", name=op.f("pk_mule_accounts")),
        schema=_SCHEMA,
    )
    op.create_table(
        "allowed_creditors",
        sa.Column("customer_id", _UUID, nullable=False),
        sa.Column("creditor_account", sa.String(length=14), nullable=False),
        sa.Column("until", _AT, nullable=True),
        sa.Column("allowed_at", _AT, nullable=False),
        sa.Column("alert_id", _UUID, nullable=True),
        sa.PrimaryKeyConstraint("customer_id", "creditor_account", name=op.f("pk_allowed_creditors")),
        schema=_SCHEMA,
    )


def downgrade() -> None:
    for table in (
        "allowed_creditors",
        "mule_accounts",
        "known_devices",
        "sign_ins",
        "saved_payees",
        "known_creditors",
        "payment_attempts",
        "customer_profiles",
    ):
        op.drop_table(table, schema=_SCHEMA)
