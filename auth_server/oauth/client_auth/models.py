"""The replay cache of client assertions kept in PostgreSQL when no Redis is configured."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from auth_server.db import Base


class UsedClientAssertion(Base):
    """A `jti` seen from a client, kept until the assertion it came in can no longer be accepted."""

    __tablename__ = "used_client_assertions"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jti: Mapped[str] = mapped_column(String(256), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_used_client_assertions_expires_at", "expires_at"),)
