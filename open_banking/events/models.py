"""TPPs' event subscriptions and the security event tokens (SETs) made for them, until acknowledged."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Index, Integer, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from obank.database import enum_type
from open_banking.db import Base

MAX_CALLBACK_URL = 1024


class EventSubscription(Base):
    """A TPP's one event subscription: where its callbacks go (none: polling only), which version, which types."""

    __tablename__ = "event_subscriptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    callback_url: Mapped[str | None] = mapped_column(String(MAX_CALLBACK_URL))
    version: Mapped[str] = mapped_column(String(10), nullable=False)
    # NULL: every event type the bank supports (the TPP named none).
    event_types: Mapped[list[str] | None] = mapped_column(ARRAY(String(128)))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class DeliveryStatus(StrEnum):
    """The callback of one SET: due (again), accepted with 202, given up on, or never (no callback URL)."""

    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    POLLING_ONLY = "POLLING_ONLY"


class TppEvent(Base):
    """One signed SET for one TPP, as signed; returned by polling until the TPP acknowledges it."""

    __tablename__ = "tpp_events"
    __table_args__ = (
        # A redelivered outbox event makes no second SET.
        UniqueConstraint("client_id", "source_event_id"),
        Index(
            "ix_tpp_events_awaiting",
            "client_id",
            "created_at",
            postgresql_where=text("acknowledged_at IS NULL"),
        ),
        Index(
            "ix_tpp_events_due",
            "next_attempt_at",
            postgresql_where=text("delivery_status = 'PENDING'"),
        ),
    )

    jti: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(128), nullable=False)
    source_event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    event_type: Mapped[str] = mapped_column(String(128), nullable=False)
    resource_type: Mapped[str] = mapped_column(String(64), nullable=False)
    resource_id: Mapped[str] = mapped_column(String(128), nullable=False)
    set_jwt: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    delivery_status: Mapped[DeliveryStatus] = mapped_column(
        enum_type(DeliveryStatus, "tpp_event_delivery_status"), nullable=False
    )
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    leased_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The last failed attempt's HTTP status or error class; never a response body.
    last_failure: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A negative acknowledgement's `err` (RFC 8935 s2.3 error codes); its description is not kept.
    ack_error: Mapped[str | None] = mapped_column(String(40))
