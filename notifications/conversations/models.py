"""Secure message tables: a customer's threads with support staff, their messages and attachments.

A thread's subject, each message's text, and each attachment's file name and content are personal data: they are
sealed to their row (`obank.crypto.seal`, purposes in `service.py`) and never appear in events, audit records or
logs. What stays in clear is only what lists and checks need: ids, statuses, times, media types and sizes.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from notifications.db import Base
from obank.database import enum_type

STAFF_ID_MAX = 128
# Each attachment at most 700 KB: the gateway refuses request bodies over 1 MB (`OBANK_MAX_REQUEST_BODY_BYTES`).
ATTACHMENT_MAX_BYTES = 700 * 1024


class ConversationStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"  # by support staff: no more messages; the customer opens a new thread


class AuthorKind(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"


class AttachmentType(StrEnum):
    """The media types an attachment may have, as its content (not its name) shows."""

    PDF = "application/pdf"
    PNG = "image/png"
    JPEG = "image/jpeg"


class Conversation(Base):
    """One thread between a customer and the bank's support staff."""

    __tablename__ = "conversations"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    subject_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    status: Mapped[ConversationStatus] = mapped_column(
        enum_type(ConversationStatus, "conversation_status"), nullable=False
    )
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_message_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(STAFF_ID_MAX))

    __table_args__ = (
        CheckConstraint(
            "(status = 'CLOSED') = (closed_at IS NOT NULL) AND (closed_at IS NULL) = (closed_by IS NULL)",
            name="closed_when_closed",
        ),
        Index("ix_conversations_customer_activity", "customer_id", "last_message_at"),
        Index("ix_conversations_status_activity", "status", "last_message_at"),
    )


class ConversationMessage(Base):
    """One message of a thread, by the customer or a staff member; `read_at` is when the other side read it."""

    __tablename__ = "conversation_messages"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("conversations.id"), nullable=False
    )
    author_kind: Mapped[AuthorKind] = mapped_column(enum_type(AuthorKind, "conversation_author_kind"), nullable=False)
    # The customer's id, or the staff member's (never shown to the customer).
    author_id: Mapped[str] = mapped_column(String(STAFF_ID_MAX), nullable=False)
    text_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_conversation_messages_thread", "conversation_id", "sent_at"),)


class ConversationAttachment(Base):
    """A file attached to a message: its media type as its content shows, its size, its name and content sealed."""

    __tablename__ = "conversation_attachments"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("conversations.id"), nullable=False
    )
    message_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("conversation_messages.id"), nullable=False
    )
    position: Mapped[int] = mapped_column(SmallInteger, nullable=False)  # its place among the message's files
    media_type: Mapped[AttachmentType] = mapped_column(
        enum_type(AttachmentType, "conversation_attachment_type", length=32), nullable=False
    )
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    file_name_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    content_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        CheckConstraint(f"size_bytes > 0 AND size_bytes <= {ATTACHMENT_MAX_BYTES}", name="size_range"),
        CheckConstraint("position >= 0", name="position_not_negative"),
        Index("uq_conversation_attachments_message_position", "message_id", "position", unique=True),
    )
