"""Outbox and consumed-event tables (schema `platform`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from obank.database import schema_metadata


class Base(DeclarativeBase):
    metadata = schema_metadata("platform")


class OutboxEvent(Base):
    """An event committed with the change it describes, waiting for (or past) publication."""

    __tablename__ = "outbox_events"

    position: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True, nullable=False)
    topic: Mapped[str] = mapped_column(String(120), nullable=False)
    event_type: Mapped[str] = mapped_column(String(120), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    correlation_id: Mapped[str] = mapped_column(String(64), nullable=False)
    # The W3C trace context of the recording transaction (obank.telemetry); null when tracing is off.
    traceparent: Mapped[str | None] = mapped_column(String(55))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_outbox_events_unpublished", "position", postgresql_where=text("published_at IS NULL")),
        # Audit investigations show the events of the requests they follow.
        Index("ix_outbox_events_correlation_id", "correlation_id"),
    )


class ConsumedEvent(Base):
    """An event a consumer has applied; written in the consumer's own transaction to refuse repeats."""

    __tablename__ = "consumed_events"

    consumer: Mapped[str] = mapped_column(String(120), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    consumed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
