"""notifications: secure messages between customers and the bank's support staff (threads, attachments)

Revision ID: 20261205_0034
Revises: 20261205_0033
Create Date: 2026-12-05

Subjects, texts, attachments' names and contents are sealed to their rows. Customer notifications gain the kind
`secure_message` (support answered; never the text).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261205_0034"
down_revision: str | Sequence[str] | None = "20261205_0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SCHEMA = "notifications"
_ATTACHMENT_MAX_BYTES = 700 * 1024
_KINDS = (
    "new_device",
    "password_changed",
    "totp_changed",
    "payee_added",
    "payment_sent",
    "payment_failed",
    "payment_held",
    "payment_received",
    "scheduled_payment_failed",
    "consent_granted",
    "consent_revoked",
    "consent_expiring",
    "low_balance",
    "statement_ready",
)
# The enum column's CHECK, named as `sa.Enum(name=...)` gave it when the table was created (0025).
_KIND_CONSTRAINT = "customer_message_kind"


def _enum(name: str, *values: str, length: int = 16) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length, schema=_SCHEMA)


def _kinds_check(kinds: Sequence[str]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("customer_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("subject_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("status", _enum("conversation_status", "OPEN", "CLOSED"), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=128), nullable=True),
        sa.CheckConstraint(
            "(status = 'CLOSED') = (closed_at IS NOT NULL) AND (closed_at IS NULL) = (closed_by IS NULL)",
            name=op.f("ck_conversations_closed_when_closed"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        schema=_SCHEMA,
    )
    op.create_index(
        "ix_conversations_customer_activity", "conversations", ["customer_id", "last_message_at"], schema=_SCHEMA
    )
    op.create_index("ix_conversations_status_activity", "conversations", ["status", "last_message_at"], schema=_SCHEMA)
    op.create_table(
        "conversation_messages",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("conversation_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("author_kind", _enum("conversation_author_kind", "customer", "staff"), nullable=False),
        sa.Column("author_id", sa.String(length=128), nullable=False),
        sa.Column("text_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["notifications.conversations.id"],
            name=op.f("fk_conversation_messages_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_messages")),
        schema=_SCHEMA,
    )
    op.create_index(
        "ix_conversation_messages_thread", "conversation_messages", ["conversation_id", "sent_at"], schema=_SCHEMA
    )
    op.create_table(
        "conversation_attachments",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("conversation_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("message_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column(
            "media_type",
            _enum("conversation_attachment_type", "application/pdf", "image/png", "image/jpeg", length=32),
            nullable=False,
        ),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("file_name_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("content_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            f"size_bytes > 0 AND size_bytes <= {_ATTACHMENT_MAX_BYTES}",
            name=op.f("ck_conversation_attachments_size_range"),
        ),
        sa.CheckConstraint("position >= 0", name=op.f("ck_conversation_attachments_position_not_negative")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["notifications.conversations.id"],
            name=op.f("fk_conversation_attachments_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["notifications.conversation_messages.id"],
            name=op.f("fk_conversation_attachments_message_id_conversation_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_attachments")),
        schema=_SCHEMA,
    )
    op.create_index(
        "uq_conversation_attachments_message_position",
        "conversation_attachments",
        ["message_id", "position"],
        unique=True,
        schema=_SCHEMA,
    )
    op.drop_constraint(op.f(_KIND_CONSTRAINT), "customer_messages", schema=_SCHEMA, type_="check")
    op.create_check_constraint(
        op.f(_KIND_CONSTRAINT), "customer_messages", _kinds_check((*_KINDS, "secure_message")), schema=_SCHEMA
    )


def downgrade() -> None:
    op.execute("DELETE FROM notifications.customer_messages WHERE kind = 'secure_message'")
    op.drop_constraint(op.f(_KIND_CONSTRAINT), "customer_messages", schema=_SCHEMA, type_="check")
    op.create_check_constraint(op.f(_KIND_CONSTRAINT), "customer_messages", _kinds_check(_KINDS), schema=_SCHEMA)
    op.drop_index("uq_conversation_attachments_message_position", table_name="conversation_attachments", schema=_SCHEMA)
    op.drop_table("conversation_attachments", schema=_SCHEMA)
    op.drop_index("ix_conversation_messages_thread", table_name="conversation_messages", schema=_SCHEMA)
    op.drop_table("conversation_messages", schema=_SCHEMA)
    op.drop_index("ix_conversations_status_activity", table_name="conversations", schema=_SCHEMA)
    op.drop_index("ix_conversations_customer_activity", table_name="conversations", schema=_SCHEMA)
    op.drop_table("conversations", schema=_SCHEMA)
