"""Pushed request table: the validated authorization request behind one request_uri."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, LargeBinary, String
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from auth_server.db import Base


class PushedAuthorizationRequest(Base):
    """One pushed request; the request_uri is stored only as a keyed hash, and is used once."""

    __tablename__ = "pushed_authorization_requests"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    request_uri_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True, nullable=False)
    client_id: Mapped[str] = mapped_column(String(64), nullable=False)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    consent_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_pushed_authorization_requests_expires_at", "expires_at"),)
