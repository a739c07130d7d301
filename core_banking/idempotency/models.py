"""Idempotency keys: the first response to a request, replayed for retries with the same key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, LargeBinary, SmallInteger, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core_banking.db import Base


class IdempotencyKey(Base):
    """A key claimed by a request in `scope` (one caller), with the request's fingerprint and its response."""

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    # Set in the claiming transaction: other transactions never see a claimed key without its response.
    response_status: Mapped[int | None] = mapped_column(SmallInteger)
    # The response's JSON, sealed to its key (it may name people: a payee, an account holder).
    response_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Responses stored in clear before sealing (20261205_0023); none is written now, and they expire in a day.
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_idempotency_keys_expires_at", "expires_at"),)
