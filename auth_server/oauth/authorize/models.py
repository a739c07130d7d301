"""Authorization code table: each code stored as a keyed hash, used once, 60 s."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, DateTime, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from auth_server.db import Base


class AuthorizationCode(Base):
    """One code, bound to its client, redirect URI, PKCE challenge and grant (RFC 6749 s4.1.2, RFC 7636 s4.4)."""

    __tablename__ = "authorization_codes"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True, nullable=False)
    client_id: Mapped[str] = mapped_column(String(64), nullable=False)
    grant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    subject: Mapped[str] = mapped_column(String(128), nullable=False)
    redirect_uri: Mapped[str] = mapped_column(Text, nullable=False)
    code_challenge: Mapped[str] = mapped_column(String(64), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(64)), nullable=False)
    authorization_details: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB(none_as_null=True))
    consent_id: Mapped[str | None] = mapped_column(String(128))
    nonce: Mapped[str | None] = mapped_column(Text)
    acr: Mapped[str] = mapped_column(Text, nullable=False)
    amr: Mapped[list[str]] = mapped_column(ARRAY(String(16)), nullable=False)
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
