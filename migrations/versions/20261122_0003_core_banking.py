"""core_banking: customers, accounts, double-entry ledger with holds, idempotency keys

Revision ID: 20261122_0003
Revises: 20261122_0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261122_0003"
down_revision: str | Sequence[str] | None = "20261122_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "core_banking"


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("email_hash", sa.LargeBinary(), nullable=False),
        sa.Column("full_name_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("email_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("phone_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("date_of_birth_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("address_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("national_id_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("kyc_status", _enum("kyc_status", "PENDING", "VERIFIED", "REJECTED"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("email_hash", name=op.f("uq_customers_email_hash")),
        schema=SCHEMA,
    )
    op.execute(sa.schema.CreateSequence(sa.Sequence("account_serial_seq", start=1, maxvalue=9_999_999, schema=SCHEMA)))
    op.create_table(
        "accounts",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", _enum("account_kind", "CUSTOMER", "INTERNAL"), nullable=False),
        sa.Column("customer_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("account_type", _enum("account_type", "CHECKING", "SAVINGS", "BUSINESS"), nullable=True),
        sa.Column("internal_purpose", sa.String(length=40), nullable=True),
        sa.Column("name", sa.String(length=70), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("sort_code", sa.String(length=6), nullable=False),
        sa.Column("account_number", sa.String(length=8), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("status", _enum("account_status", "ACTIVE", "FROZEN", "CLOSED"), nullable=False),
        sa.Column("overdraft_limit_minor", sa.BigInteger(), nullable=False),
        sa.Column("daily_limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("monthly_limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("interest_rate_bps", sa.Integer(), nullable=False),
        sa.Column("booked_balance_minor", sa.BigInteger(), nullable=False),
        sa.Column("held_minor", sa.BigInteger(), nullable=False),
        sa.Column("day_outgoing_date", sa.Date(), nullable=True),
        sa.Column("day_outgoing_minor", sa.BigInteger(), nullable=False),
        sa.Column("month_outgoing_start", sa.Date(), nullable=True),
        sa.Column("month_outgoing_minor", sa.BigInteger(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(kind = 'CUSTOMER' AND customer_id IS NOT NULL AND account_type IS NOT NULL"
            " AND internal_purpose IS NULL AND daily_limit_minor IS NOT NULL AND monthly_limit_minor IS NOT NULL)"
            " OR (kind = 'INTERNAL' AND customer_id IS NULL AND account_type IS NULL AND internal_purpose IS NOT NULL)",
            name=op.f("ck_accounts_owner"),
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_accounts_currency_code")),
        sa.CheckConstraint("overdraft_limit_minor >= 0", name=op.f("ck_accounts_overdraft_limit_not_negative")),
        sa.CheckConstraint(
            "(daily_limit_minor IS NULL OR daily_limit_minor > 0) AND (monthly_limit_minor IS NULL OR monthly_limit_minor > 0)",
            name=op.f("ck_accounts_outgoing_limits_positive"),
        ),
        sa.CheckConstraint(
            "interest_rate_bps >= 0 AND (interest_rate_bps = 0 OR account_type = 'SAVINGS')",
            name=op.f("ck_accounts_interest"),
        ),
        sa.CheckConstraint("held_minor >= 0", name=op.f("ck_accounts_held_not_negative")),
        sa.CheckConstraint(
            "day_outgoing_minor >= 0 AND month_outgoing_minor >= 0",
            name=op.f("ck_accounts_outgoing_usage_not_negative"),
        ),
        sa.CheckConstraint(
            "kind = 'INTERNAL' OR booked_balance_minor + overdraft_limit_minor - held_minor >= 0",
            name=op.f("ck_accounts_within_overdraft"),
        ),
        sa.CheckConstraint(
            "status <> 'CLOSED' OR (booked_balance_minor = 0 AND held_minor = 0)",
            name=op.f("ck_accounts_closed_is_empty"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], [f"{SCHEMA}.customers.id"], name=op.f("fk_accounts_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("account_number", name=op.f("uq_accounts_account_number")),
        sa.UniqueConstraint("iban", name=op.f("uq_accounts_iban")),
        sa.UniqueConstraint("id", "currency", name=op.f("uq_accounts_id_currency")),
        sa.UniqueConstraint("internal_purpose", "currency", name=op.f("uq_accounts_internal_purpose_currency")),
        schema=SCHEMA,
    )
    op.create_index("ix_accounts_customer_id", "accounts", ["customer_id"], schema=SCHEMA)
    op.create_table(
        "journal_entries",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=140), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("reverses_entry_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("booked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reverses_entry_id"],
            [f"{SCHEMA}.journal_entries.id"],
            name=op.f("fk_journal_entries_reverses_entry_id_journal_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_entries")),
        sa.UniqueConstraint("reverses_entry_id", name=op.f("uq_journal_entries_reverses_entry_id")),
        schema=SCHEMA,
    )
    op.create_table(
        "postings",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("entry_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("account_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("balance_after_minor", sa.BigInteger(), nullable=False),
        sa.Column("booked_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor <> 0", name=op.f("ck_postings_amount_not_zero")),
        sa.ForeignKeyConstraint(
            ["account_id", "currency"],
            [f"{SCHEMA}.accounts.id", f"{SCHEMA}.accounts.currency"],
            name="fk_postings_account_currency_accounts",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], [f"{SCHEMA}.journal_entries.id"], name=op.f("fk_postings_entry_id_journal_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postings")),
        schema=SCHEMA,
    )
    op.create_index("ix_postings_entry_id", "postings", ["entry_id"], schema=SCHEMA)
    op.create_index("ix_postings_account_booked", "postings", ["account_id", "booked_at", "id"], schema=SCHEMA)
    op.create_table(
        "holds",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("account_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("captured_minor", sa.BigInteger(), nullable=True),
        sa.Column("status", _enum("hold_status", "OPEN", "CAPTURED", "VOIDED", "EXPIRED"), nullable=False),
        sa.Column("description", sa.String(length=140), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("limit_day", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("capture_entry_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_holds_amount_positive")),
        sa.CheckConstraint(
            "(status = 'CAPTURED') = (captured_minor IS NOT NULL AND capture_entry_id IS NOT NULL)"
            " AND (captured_minor IS NULL OR captured_minor BETWEEN 1 AND amount_minor)",
            name=op.f("ck_holds_capture"),
        ),
        sa.CheckConstraint("(status = 'OPEN') = (closed_at IS NULL)", name=op.f("ck_holds_closed_when_settled")),
        sa.ForeignKeyConstraint(
            ["account_id", "currency"],
            [f"{SCHEMA}.accounts.id", f"{SCHEMA}.accounts.currency"],
            name="fk_holds_account_currency_accounts",
        ),
        sa.ForeignKeyConstraint(
            ["capture_entry_id"],
            [f"{SCHEMA}.journal_entries.id"],
            name=op.f("fk_holds_capture_entry_id_journal_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_holds_account_open", "holds", ["account_id"], schema=SCHEMA, postgresql_where=sa.text("status = 'OPEN'")
    )
    op.create_index(
        "ix_holds_expiry_open", "holds", ["expires_at"], schema=SCHEMA, postgresql_where=sa.text("status = 'OPEN'")
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(), nullable=False),
        sa.Column("response_status", sa.SmallInteger(), nullable=True),
        sa.Column("response_body", postgresql.JSONB(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_keys")),
        schema=SCHEMA,
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"], schema=SCHEMA)

    # The book of record is append-only: no UPDATE, DELETE or TRUNCATE of entries or postings.
    op.execute(
        """
        CREATE FUNCTION core_banking.refuse_ledger_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the ledger is append-only: % on % refused (book a reversal instead)', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    for table in ("journal_entries", "postings"):
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON core_banking.{table} "
            "FOR EACH ROW EXECUTE FUNCTION core_banking.refuse_ledger_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON core_banking.{table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION core_banking.refuse_ledger_change()"
        )
    # Double entry, checked at commit (deferred): an entry's postings sum to zero in every currency, and
    # every entry has at least two postings.
    op.execute(
        """
        CREATE FUNCTION core_banking.check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            unbalanced record;
        BEGIN
            SELECT currency, sum(amount_minor) AS total INTO unbalanced
            FROM core_banking.postings WHERE entry_id = NEW.entry_id
            GROUP BY currency HAVING sum(amount_minor) <> 0 LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'journal entry % does not balance: its % postings sum to %',
                    NEW.entry_id, unbalanced.currency, unbalanced.total
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER postings_balance_per_entry AFTER INSERT ON core_banking.postings "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION core_banking.check_entry_balanced()"
    )
    op.execute(
        """
        CREATE FUNCTION core_banking.check_entry_has_postings() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (SELECT count(*) FROM core_banking.postings WHERE entry_id = NEW.id) < 2 THEN
                RAISE EXCEPTION 'journal entry % has fewer than two postings', NEW.id
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER journal_entries_have_postings AFTER INSERT ON core_banking.journal_entries "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION core_banking.check_entry_has_postings()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER journal_entries_have_postings ON core_banking.journal_entries")
    op.execute("DROP TRIGGER postings_balance_per_entry ON core_banking.postings")
    for table in ("journal_entries", "postings"):
        op.execute(f"DROP TRIGGER {table}_no_truncate ON core_banking.{table}")
        op.execute(f"DROP TRIGGER {table}_append_only ON core_banking.{table}")
    op.execute("DROP FUNCTION core_banking.check_entry_has_postings()")
    op.execute("DROP FUNCTION core_banking.check_entry_balanced()")
    op.execute("DROP FUNCTION core_banking.refuse_ledger_change()")
    op.drop_index("ix_idempotency_keys_expires_at", table_name="idempotency_keys", schema=SCHEMA)
    op.drop_table("idempotency_keys", schema=SCHEMA)
    op.drop_index("ix_holds_expiry_open", table_name="holds", schema=SCHEMA)
    op.drop_index("ix_holds_account_open", table_name="holds", schema=SCHEMA)
    op.drop_table("holds", schema=SCHEMA)
    op.drop_index("ix_postings_account_booked", table_name="postings", schema=SCHEMA)
    op.drop_index("ix_postings_entry_id", table_name="postings", schema=SCHEMA)
    op.drop_table("postings", schema=SCHEMA)
    op.drop_table("journal_entries", schema=SCHEMA)
    op.drop_index("ix_accounts_customer_id", table_name="accounts", schema=SCHEMA)
    op.drop_table("accounts", schema=SCHEMA)
    op.execute(sa.schema.DropSequence(sa.Sequence("account_serial_seq", schema=SCHEMA)))
    op.drop_table("customers", schema=SCHEMA)
