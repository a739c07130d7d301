"""Issued token table: every access token (by jti) and, for the code flow, refresh tokens (by keyed hash)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ARRAY, CheckConstraint, DateTime, Index, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from auth_server.db import Base
from obank.claims import SubjectKind
from obank.database import enum_type

__all__ = ["IssuedToken", "SubjectKind", "TokenKind"]


class TokenKind(StrEnum):
    ACCESS = "ACCESS"
    REFRESH = "REFRESH"


class IssuedToken(Base):
    """One issued token. Access tokens: `id` is the JWT's `jti`. Refresh tokens: found by `token_hash`."""

    __tablename__ = "issued_tokens"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[TokenKind] = mapped_column(enum_type(TokenKind, "token_kind"), nullable=False)
    client_id: Mapped[str] = mapped_column(String(64), nullable=False)
    subject: Mapped[str] = mapped_column(String(128), nullable=False)
    subject_kind: Mapped[SubjectKind] = mapped_column(
        enum_type(SubjectKind, "subject_kind"),
        nullable=False,
    )
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(64)), nullable=False)
    authorization_details: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB(none_as_null=True))
    consent_id: Mapped[str | None] = mapped_column(String(128))
    # RFC 8705 s3.1: SHA-256 thumbprint of the client certificate the token is bound to.
    certificate_thumbprint: Mapped[str | None] = mapped_column(String(64))
    signing_kid: Mapped[str | None] = mapped_column(String(64))
    acr: Mapped[str | None] = mapped_column(Text)
    auth_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The consent session (grant) and authorization code the token descends from, for revocation by either.
    grant_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    authorization_code_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    parent_token_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    token_hash: Mapped[bytes | None] = mapped_column(LargeBinary, unique=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revocation_reason: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_issued_tokens_grant_id", "grant_id"),
        Index("ix_issued_tokens_authorization_code_id", "authorization_code_id"),
        Index("ix_issued_tokens_client_id", "client_id"),
        Index("ix_issued_tokens_expires_at", "expires_at"),
        CheckConstraint("kind <> 'ACCESS' OR (expires_at IS NOT NULL AND token_hash IS NULL)", name="access_token"),
        CheckConstraint("kind <> 'REFRESH' OR token_hash IS NOT NULL", name="refresh_token"),
        CheckConstraint("(revoked_at IS NULL) = (revocation_reason IS NULL)", name="revocation"),
    )
