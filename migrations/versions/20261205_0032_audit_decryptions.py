"""audit: staff decryptions of audit records, with their reasons

Revision ID: 20261205_0032
Revises: 20261205_0031
Create Date: 2026-12-05

Each decryption names the record, the staff member and when; the reason is sealed to its row. Like the records,
decryptions are append-only. The investigation timeline follows customers by the records they made
(`actor_id`) and requests by their correlation id into the outbox.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261205_0032"
down_revision: str | Sequence[str] | None = "20261205_0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decryptions",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("record_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("staff_id", sa.String(length=200), nullable=False),
        sa.Column("reason_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("decrypted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decryptions")),
        schema="audit",
    )
    op.create_index("ix_decryptions_decrypted_at", "decryptions", ["decrypted_at"], schema="audit")
    op.create_index("ix_decryptions_record_id", "decryptions", ["record_id", "decrypted_at"], schema="audit")
    op.create_index("ix_decryptions_staff_id", "decryptions", ["staff_id", "decrypted_at"], schema="audit")
    op.execute(
        "CREATE TRIGGER decryptions_append_only BEFORE UPDATE OR DELETE ON audit.decryptions "
        "FOR EACH ROW EXECUTE FUNCTION audit.refuse_record_change()"
    )
    op.execute(
        "CREATE TRIGGER decryptions_no_truncate BEFORE TRUNCATE ON audit.decryptions "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_record_change()"
    )
    op.create_index("ix_audit_records_actor_id", "audit_records", ["actor_id"], schema="audit")
    op.create_index("ix_outbox_events_correlation_id", "outbox_events", ["correlation_id"], schema="platform")


def downgrade() -> None:
    op.drop_index("ix_outbox_events_correlation_id", table_name="outbox_events", schema="platform")
    op.drop_index("ix_audit_records_actor_id", table_name="audit_records", schema="audit")
    op.execute("DROP TRIGGER decryptions_no_truncate ON audit.decryptions")
    op.execute("DROP TRIGGER decryptions_append_only ON audit.decryptions")
    op.drop_index("ix_decryptions_staff_id", table_name="decryptions", schema="audit")
    op.drop_index("ix_decryptions_record_id", table_name="decryptions", schema="audit")
    op.drop_index("ix_decryptions_decrypted_at", table_name="decryptions", schema="audit")
    op.drop_table("decryptions", schema="audit")
