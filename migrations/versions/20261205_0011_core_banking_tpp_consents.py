"""core_banking: consents for TPPs (funds confirmation, expiry, who revoked), funds confirmations

Revision ID: 20261205_0011
Revises: 20261205_0010
Create Date: 2026-12-05

Consents gain the kind FUNDS_CONFIRMATION (its DebtorAccount in `debtor_*`), the status Expired, and
`revoked_by` (the TPP or the customer; every consent revoked before this revision was revoked by its
customer, the only one who could). The downgrade forgets funds confirmation consents and their checks,
and reads an expired consent as revoked by its customer, the nearest state the older code knows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261205_0011"
down_revision: str | Sequence[str] | None = "20261205_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "core_banking"
LIVE = "status IN ('AwaitingAuthorisation', 'Authorised')"
AWAITING = "status = 'AwaitingAuthorisation'"

KINDS_BEFORE = ("ACCOUNT_ACCESS", "DOMESTIC_PAYMENT")
KINDS_AFTER = (*KINDS_BEFORE, "FUNDS_CONFIRMATION")
STATUSES_BEFORE = ("AwaitingAuthorisation", "Authorised", "Rejected", "Consumed", "Revoked")
STATUSES_AFTER = (*STATUSES_BEFORE, "Expired")

KIND_DETAILS_BEFORE = (
    "(kind = 'ACCOUNT_ACCESS' AND permissions IS NOT NULL AND cardinality(permissions) > 0"
    " AND amount_minor IS NULL AND currency IS NULL AND creditor_name IS NULL"
    " AND creditor_identification IS NULL AND reference IS NULL)"
    " OR (kind = 'DOMESTIC_PAYMENT' AND permissions IS NULL AND expires_at IS NULL"
    " AND amount_minor IS NOT NULL AND currency IS NOT NULL AND creditor_name IS NOT NULL"
    " AND creditor_scheme IS NOT NULL AND creditor_identification IS NOT NULL)"
)
KIND_DETAILS_AFTER = (
    "(kind = 'ACCOUNT_ACCESS' AND permissions IS NOT NULL AND cardinality(permissions) > 0"
    " AND amount_minor IS NULL AND currency IS NULL AND creditor_name IS NULL"
    " AND creditor_identification IS NULL AND reference IS NULL"
    " AND debtor_scheme IS NULL AND debtor_identification IS NULL AND debtor_name IS NULL)"
    " OR (kind = 'DOMESTIC_PAYMENT' AND permissions IS NULL AND expires_at IS NULL"
    " AND amount_minor IS NOT NULL AND currency IS NOT NULL AND creditor_name IS NOT NULL"
    " AND creditor_scheme IS NOT NULL AND creditor_identification IS NOT NULL"
    " AND debtor_scheme IS NULL AND debtor_identification IS NULL AND debtor_name IS NULL)"
    " OR (kind = 'FUNDS_CONFIRMATION' AND permissions IS NULL"
    " AND transactions_from IS NULL AND transactions_to IS NULL"
    " AND amount_minor IS NULL AND currency IS NULL AND creditor_name IS NULL AND creditor_scheme IS NULL"
    " AND creditor_identification IS NULL AND reference IS NULL"
    " AND debtor_scheme IS NOT NULL AND debtor_identification IS NOT NULL)"
)
ONE_DEBTOR_BEFORE = "kind <> 'DOMESTIC_PAYMENT' OR cardinality(account_ids) <= 1"
ONE_DEBTOR_AFTER = "kind = 'ACCOUNT_ACCESS' OR cardinality(account_ids) <= 1"


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _replace_check(name: str, condition: str) -> None:
    op.drop_constraint(op.f(name), "consents", schema=SCHEMA, type_="check")
    op.create_check_constraint(op.f(name), "consents", condition, schema=SCHEMA)


def upgrade() -> None:
    op.add_column("consents", sa.Column("revoked_by", sa.String(length=16), nullable=True), schema=SCHEMA)
    op.add_column("consents", sa.Column("debtor_scheme", sa.String(length=40), nullable=True), schema=SCHEMA)
    op.add_column("consents", sa.Column("debtor_identification", sa.String(length=256), nullable=True), schema=SCHEMA)
    op.add_column("consents", sa.Column("debtor_name", sa.String(length=350), nullable=True), schema=SCHEMA)
    op.execute("UPDATE core_banking.consents SET revoked_by = 'customer' WHERE status = 'Revoked'")
    _replace_check("consent_kind", _one_of("kind", KINDS_AFTER))
    _replace_check("consent_status", _one_of("status", STATUSES_AFTER))
    _replace_check("ck_consents_kind_details", KIND_DETAILS_AFTER)
    _replace_check("ck_consents_one_debtor_account", ONE_DEBTOR_AFTER)
    op.create_check_constraint(
        op.f("consent_revoked_by"), "consents", _one_of("revoked_by", ("client", "customer")), schema=SCHEMA
    )
    op.create_check_constraint(
        op.f("ck_consents_revoked_by_whom"),
        "consents",
        "(status = 'Revoked') = (revoked_by IS NOT NULL)",
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_consents_live_expires_at"),
        "consents",
        ["expires_at"],
        schema=SCHEMA,
        postgresql_where=sa.text(LIVE),
    )
    op.create_index(
        op.f("ix_consents_awaiting_created_at"),
        "consents",
        ["created_at"],
        schema=SCHEMA,
        postgresql_where=sa.text(AWAITING),
    )

    op.create_table(
        "funds_confirmations",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("consent_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reference", sa.String(length=35), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_funds_confirmations_amount_positive")),
        sa.ForeignKeyConstraint(
            ["consent_id"], [f"{SCHEMA}.consents.id"], name=op.f("fk_funds_confirmations_consent_id_consents")
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "currency"],
            [f"{SCHEMA}.accounts.id", f"{SCHEMA}.accounts.currency"],
            name=op.f("fk_funds_confirmations_account_currency_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funds_confirmations")),
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_funds_confirmations_consent_id"), "funds_confirmations", ["consent_id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index(op.f("ix_funds_confirmations_consent_id"), table_name="funds_confirmations", schema=SCHEMA)
    op.drop_table("funds_confirmations", schema=SCHEMA)
    op.drop_index(op.f("ix_consents_awaiting_created_at"), table_name="consents", schema=SCHEMA)
    op.drop_index(op.f("ix_consents_live_expires_at"), table_name="consents", schema=SCHEMA)
    op.execute("DELETE FROM core_banking.consents WHERE kind = 'FUNDS_CONFIRMATION'")
    op.execute("UPDATE core_banking.consents SET status = 'Revoked', revoked_by = 'customer' WHERE status = 'Expired'")
    op.drop_constraint(op.f("ck_consents_revoked_by_whom"), "consents", schema=SCHEMA, type_="check")
    op.drop_constraint(op.f("consent_revoked_by"), "consents", schema=SCHEMA, type_="check")
    _replace_check("ck_consents_one_debtor_account", ONE_DEBTOR_BEFORE)
    _replace_check("ck_consents_kind_details", KIND_DETAILS_BEFORE)
    _replace_check("consent_status", _one_of("status", STATUSES_BEFORE))
    _replace_check("consent_kind", _one_of("kind", KINDS_BEFORE))
    op.drop_column("consents", "debtor_name", schema=SCHEMA)
    op.drop_column("consents", "debtor_identification", schema=SCHEMA)
    op.drop_column("consents", "debtor_scheme", schema=SCHEMA)
    op.drop_column("consents", "revoked_by", schema=SCHEMA)
