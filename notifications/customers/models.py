"""Customer notification tables: preferences, the messages each event makes, low-balance state, the mail sink."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, Index, Integer, LargeBinary, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from notifications.db import Base
from obank.database import enum_type


class Kind(StrEnum):
    """What a notification tells the customer."""

    NEW_DEVICE = "new_device"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 (a kind of notice, not a password)
    TOTP_CHANGED = "totp_changed"
    PAYEE_ADDED = "payee_added"
    PAYMENT_SENT = "payment_sent"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_HELD = "payment_held"
    PAYMENT_RECEIVED = "payment_received"
    SCHEDULED_PAYMENT_FAILED = "scheduled_payment_failed"
    CONSENT_GRANTED = "consent_granted"
    CONSENT_REVOKED = "consent_revoked"
    CONSENT_EXPIRING = "consent_expiring"
    LOW_BALANCE = "low_balance"
    STATEMENT_READY = "statement_ready"
    SECURE_MESSAGE = "secure_message"  # support staff answered in a secure message (never its text)


# Security notices always go by email: the customer cannot turn that channel off.
SECURITY_KINDS = frozenset({Kind.NEW_DEVICE, Kind.PASSWORD_CHANGED, Kind.TOTP_CHANGED, Kind.PAYEE_ADDED})


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    IN_APP = "in_app"


class MessageStatus(StrEnum):
    PENDING = "PENDING"  # waiting for its (next) attempt
    SENDING = "SENDING"  # claimed by a sender until `lease_until`
    SENT = "SENT"
    FAILED = "FAILED"  # every attempt failed
    SKIPPED = "SKIPPED"  # nothing to send it to (no phone number, a customer gone)


class Preferences(Base):
    """A customer's choice of channels per kind (`{kind: [channel, ...]}`; kinds absent take the defaults) and
    the available balance below which they hear of it (none: no low-balance notices)."""

    __tablename__ = "preferences"

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    channels: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    low_balance_threshold_minor: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (CheckConstraint("low_balance_threshold_minor >= 0", name="threshold_not_negative"),)


class CustomerMessage(Base):
    """One notification by one channel, made from one event; sent (or, in-app, rendered) by the sender loop.

    The rendered subject and body and the recipient (email address, phone number) are sealed to the row;
    `facts` holds what the event told (ids, amounts, statuses: no personal data).
    """

    __tablename__ = "customer_messages"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[Kind] = mapped_column(enum_type(Kind, "customer_message_kind", length=32), nullable=False)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "customer_message_channel"), nullable=False)
    facts: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    status: Mapped[MessageStatus] = mapped_column(enum_type(MessageStatus, "customer_message_status"), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(200))
    recipient_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    subject_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    body_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # One message per event, kind and channel: an event delivered twice makes nothing twice.
        Index("uq_customer_messages_event", "event_id", "kind", "channel", unique=True),
        Index(
            "ix_customer_messages_due",
            "next_attempt_at",
            postgresql_where=text("status IN ('PENDING', 'SENDING')"),
        ),
        Index(
            "ix_customer_messages_inbox",
            "customer_id",
            "sent_at",
            postgresql_where=text("channel = 'in_app' AND status = 'SENT'"),
        ),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("status <> 'SENDING' OR lease_until IS NOT NULL", name="sending_is_leased"),
    )


class LowBalanceState(Base):
    """Whether an account was last seen below its customer's threshold: a notice goes once per crossing."""

    __tablename__ = "low_balance_states"

    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    below: Mapped[bool] = mapped_column(Boolean, nullable=False)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class SinkedMail(Base):
    """An email the development SMTP sink received, sealed to its row (`obank mail`, `/dev/mail`)."""

    __tablename__ = "mail_sink"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    recipients_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    subject_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    content_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)

    __table_args__ = (Index("ix_mail_sink_received_at", "received_at"),)
