"""Webhook tables: endpoints, their signing secrets, the messages fanned out to them, and delivery attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from notifications.db import Base
from obank.database import enum_type

URL_MAX = 2048
DESCRIPTION_MAX = 200
EVENT_TYPE_MAX = 80


class DisabledReason(StrEnum):
    """Why an endpoint receives nothing: a member of staff disabled it, or its receiver answered 410 Gone."""

    STAFF = "STAFF"
    GONE = "GONE"


class MessageStatus(StrEnum):
    """PENDING until a 2xx answer (DELIVERED) or the last attempt failed (DEAD: the dead-letter store); CANCELLED
    when its endpoint was deleted first."""

    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    DEAD = "DEAD"
    CANCELLED = "CANCELLED"


class WebhookEndpoint(Base):
    """Where an integrator receives the event types it subscribed to (`*`: all); deleted softly, so its messages
    and their attempts stay readable."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    url: Mapped[str] = mapped_column(String(URL_MAX), nullable=False)
    description: Mapped[str] = mapped_column(String(DESCRIPTION_MAX), nullable=False)
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(EVENT_TYPE_MAX)), nullable=False)
    ordered: Mapped[bool] = mapped_column(Boolean, nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False)
    disabled_reason: Mapped[DisabledReason | None] = mapped_column(
        enum_type(DisabledReason, "webhook_endpoint_disabled_reason")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("enabled = (disabled_reason IS NULL)", name="disabled_has_reason"),
        CheckConstraint("cardinality(event_types) > 0", name="subscribes_to_something"),
    )


class WebhookSecret(Base):
    """A `whsec_` signing secret of an endpoint, sealed to its row; it signs until `expires_at` (none: the current
    one). A rotation gives the previous one an expiry, so both sign during the overlap."""

    __tablename__ = "webhook_secrets"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_webhook_secrets_endpoint", "endpoint_id", "created_at"),
        # One current secret per endpoint.
        Index("uq_webhook_secrets_current", "endpoint_id", unique=True, postgresql_where=text("expires_at IS NULL")),
    )


class WebhookMessage(Base):
    """One event for one endpoint: its body, signed afresh at each attempt, and where its delivery stands.

    `attempts` counts the attempts since it was created or last replayed (the retry schedule's place);
    `attempts_total` every attempt ever claimed, numbering them and fencing a result against a later claim.
    `locked_until` is the lease of the process sending it; `ordering_key` (the account, for an endpoint that
    asked for order) holds back later messages of the key while an earlier one is pending.
    """

    __tablename__ = "webhook_messages"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    event_type: Mapped[str] = mapped_column(String(EVENT_TYPE_MAX), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    ordering_key: Mapped[str | None] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(BigInteger, Identity(always=True), nullable=False)
    status: Mapped[MessageStatus] = mapped_column(enum_type(MessageStatus, "webhook_message_status"), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    attempts_total: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_response_status: Mapped[int | None] = mapped_column(SmallInteger)
    last_error: Mapped[str | None] = mapped_column(String(80))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # A redelivered event fans out to nothing new.
        UniqueConstraint("endpoint_id", "event_id"),
        CheckConstraint("attempts >= 0 AND attempts_total >= attempts", name="attempts_counted"),
        CheckConstraint("(status = 'PENDING') = (finished_at IS NULL)", name="finished_when_final"),
        # What the delivery loop claims: an endpoint's pending messages by due time.
        Index(
            "ix_webhook_messages_due",
            "endpoint_id",
            "next_attempt_at",
            postgresql_where=text("status = 'PENDING'"),
        ),
        # The earlier pending message of the same key that holds an ordered message back.
        Index(
            "ix_webhook_messages_ordering",
            "endpoint_id",
            "ordering_key",
            "sequence",
            postgresql_where=text("status = 'PENDING' AND ordering_key IS NOT NULL"),
        ),
        Index("ix_webhook_messages_endpoint", "endpoint_id", "sequence"),
        Index("ix_webhook_messages_status", "status", "sequence"),
        Index("ix_webhook_messages_finished", "finished_at", postgresql_where=text("finished_at IS NOT NULL")),
    )

    @property
    def webhook_id(self) -> str:
        return webhook_id(self.id)


class WebhookAttempt(Base):
    """One delivery attempt: when, how long, and the answer's status or the error's class; never a response body."""

    __tablename__ = "webhook_attempts"

    message_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("webhook_messages.id", ondelete="CASCADE"), primary_key=True
    )
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    latency_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    response_status: Mapped[int | None] = mapped_column(SmallInteger)
    error: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (
        CheckConstraint("(response_status IS NULL) <> (error IS NULL)", name="status_or_error"),
        CheckConstraint("latency_ms >= 0", name="latency_not_negative"),
    )


WEBHOOK_ID_PREFIX = "msg_"


def webhook_id(message_id: uuid.UUID) -> str:
    """The `webhook-id` receivers see (Standard Webhooks): the same for every attempt and replay of a message."""
    return WEBHOOK_ID_PREFIX + message_id.hex


def message_id_of(value: str) -> uuid.UUID:
    """A message's id from its `webhook-id` or its UUID; ValueError if it is neither."""
    if value.startswith(WEBHOOK_ID_PREFIX):
        value = value[len(WEBHOOK_ID_PREFIX) :]
    return uuid.UUID(value)
