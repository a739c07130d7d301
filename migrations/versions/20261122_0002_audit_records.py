"""audit: audit records on independent hash chains and one head row per chain

Revision ID: 20261122_0002
Revises: 20261122_0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261122_0002"
down_revision: str | Sequence[str] | None = "20261122_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("chain", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("record_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=200), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=True),
        sa.Column("session_id", sa.String(length=200), nullable=True),
        sa.Column("ip_hash", sa.LargeBinary(), nullable=True),
        sa.Column("ip_hash_key_id", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=120), nullable=False),
        sa.Column("entity_type", sa.String(length=80), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes_key_id", sa.String(length=64), nullable=False),
        sa.Column("changes_wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("changes_nonce", sa.LargeBinary(), nullable=False),
        sa.Column("changes_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("mac_key_id", sa.String(length=64), nullable=False),
        sa.Column("prev_mac", sa.LargeBinary(), nullable=False),
        sa.Column("mac", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint(
            "actor_kind IN ('customer', 'staff', 'client', 'system')",
            name=op.f("ck_audit_records_actor_kind"),
        ),
        sa.PrimaryKeyConstraint("chain", "sequence", name=op.f("pk_audit_records")),
        sa.UniqueConstraint("record_id", name=op.f("uq_audit_records_record_id")),
        schema="audit",
    )
    op.create_index("ix_audit_records_correlation_id", "audit_records", ["correlation_id"], schema="audit")
    op.create_index("ix_audit_records_entity", "audit_records", ["entity_type", "entity_id"], schema="audit")
    op.create_table(
        "chain_head",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.Column("last_mac", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("id >= 0 AND id < 8", name=op.f("ck_chain_head_chain_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_head")),
        schema="audit",
    )
    # audit.models.CHAIN_COUNT genesis heads: sequence 0 and an all-zero MAC, which each chain's record 1 links to.
    op.execute(
        "INSERT INTO audit.chain_head (id, last_sequence, last_mac) "
        "SELECT id, 0, decode(repeat('00', 32), 'hex') FROM generate_series(0, 7) AS id"
    )
    # Append-only at the database too; the MAC chain still catches whoever bypasses this (a superuser).
    op.execute(
        """
        CREATE FUNCTION audit.refuse_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit records are append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit.audit_records "
        "FOR EACH ROW EXECUTE FUNCTION audit.refuse_record_change()"
    )
    op.execute(
        "CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit.audit_records "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_record_change()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_records_no_truncate ON audit.audit_records")
    op.execute("DROP TRIGGER audit_records_append_only ON audit.audit_records")
    op.execute("DROP FUNCTION audit.refuse_record_change()")
    op.drop_table("chain_head", schema="audit")
    op.drop_index("ix_audit_records_entity", table_name="audit_records", schema="audit")
    op.drop_index("ix_audit_records_correlation_id", table_name="audit_records", schema="audit")
    op.drop_table("audit_records", schema="audit")
