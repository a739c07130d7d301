"""Authorization sessions (one per used request_uri) and authorization codes (keyed hashes, used once, 60 s)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, CheckConstraint, DateTime, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from auth_server.db import Base


class AuthorizationSession(Base):
    """The authorization a request_uri started at its first use: sign-in, TOTP, consent, then one outcome.

    It outlives the request_uri (RFC 9126 s2.2 keeps that short) and belongs to the browser that used it.
    """

    __tablename__ = "authorization_sessions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    # The pushed request it acts on; unique: a request_uri starts one authorization at most.
    pushed_request_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("auth_server.pushed_authorization_requests.id"), unique=True, nullable=False
    )
    client_id: Mapped[str] = mapped_column(String(64), nullable=False)
    # Keyed hash of the browser's CSRF cookie: only the browser that started the authorization continues it.
    browser_binding: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # "approved", or the RFC 6749 s4.1.2.1 error code the client received.
    outcome: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_authorization_sessions_expires_at", "expires_at"),
        CheckConstraint("(completed_at IS NULL) = (outcome IS NULL)", name="completion"),
    )


class AuthorizationCode(Base):
    """One code, bound to its client, redirect URI, PKCE challenge and grant (RFC 6749 s4.1.2, RFC 7636 s4.4).

    Staff console codes have no grant: staff consent to nothing, their roles say what they may do.
    """

    __tablename__ = "authorization_codes"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True, nullable=False)
    client_id: Mapped[str] = mapped_column(String(64), nullable=False)
    grant_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
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
    # The sign-in session a first-party client's code was issued in: what descends from the code ends with it.
    session_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (Index("ix_authorization_codes_session_id", "session_id"),)
