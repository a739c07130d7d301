"""Shapes of tokens: what issuance returns, the stored record, and the token endpoint's response."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from auth_server.oauth.tokens.models import IssuedToken, SubjectKind, TokenKind


@dataclass(frozen=True, slots=True)
class IssuedAccessToken:
    """A freshly signed RFC 9068 access token."""

    access_token: str
    jti: uuid.UUID
    issued_at: datetime
    expires_at: datetime
    expires_in: int
    scopes: tuple[str, ...]
    authorization_details: list[dict[str, Any]] | None
    certificate_thumbprint: str | None


@dataclass(frozen=True, slots=True)
class RevokedToken:
    """A token revoked just now: what the gateway's deny-list needs to refuse it until it expires."""

    id: uuid.UUID
    kind: TokenKind
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An issued token as stored: who it is for, what it allows, what it is bound to, whether it lives."""

    id: uuid.UUID
    kind: TokenKind
    client_id: str
    subject: str
    subject_kind: SubjectKind
    scopes: tuple[str, ...]
    authorization_details: list[dict[str, Any]] | None
    consent_id: str | None
    certificate_thumbprint: str | None
    acr: str | None
    auth_time: datetime | None
    grant_id: uuid.UUID | None
    authorization_code_id: uuid.UUID | None
    parent_token_id: uuid.UUID | None
    issued_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @classmethod
    def from_model(cls, token: IssuedToken) -> TokenRecord:
        return cls(
            id=token.id,
            kind=token.kind,
            client_id=token.client_id,
            subject=token.subject,
            subject_kind=token.subject_kind,
            scopes=tuple(token.scopes),
            authorization_details=token.authorization_details,
            consent_id=token.consent_id,
            certificate_thumbprint=token.certificate_thumbprint,
            acr=token.acr,
            auth_time=token.auth_time,
            grant_id=token.grant_id,
            authorization_code_id=token.authorization_code_id,
            parent_token_id=token.parent_token_id,
            issued_at=token.issued_at,
            expires_at=token.expires_at,
            revoked_at=token.revoked_at,
        )


class TokenResponse(BaseModel):
    """RFC 6749 s5.1 successful token response (RFC 9396 s7: with the granted authorization details)."""

    access_token: str
    token_type: str = "Bearer"  # noqa: S105
    expires_in: int
    scope: str | None = None
    authorization_details: list[dict[str, Any]] | None = None
    refresh_token: str | None = None
    id_token: str | None = None
