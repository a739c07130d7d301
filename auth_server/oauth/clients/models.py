"""The OAuth client table."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ARRAY, Boolean, CheckConstraint, DateTime, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from auth_server.db import Base
from auth_server.identities.schemas import IdentityKind
from obank.database import enum_type


class ClientStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


class RegistrationSource(StrEnum):
    """Who registered the client: staff (admin API or CLI) or the client itself (RFC 7591)."""

    ADMIN = "ADMIN"
    DYNAMIC = "DYNAMIC"


class OAuthClient(Base):
    """A registered client; metadata names follow RFC 7591 s2, RFC 8705 s2 and RFC 9396 s10."""

    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_name: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[ClientStatus] = mapped_column(enum_type(ClientStatus, "client_status"), nullable=False)
    registration: Mapped[RegistrationSource] = mapped_column(
        enum_type(RegistrationSource, "registration_source"),
        nullable=False,
    )
    first_party: Mapped[bool] = mapped_column(Boolean, nullable=False)
    # Whose logins its authorizations use: customers', or (the bank's staff console only) staff's.
    identity_kind: Mapped[IdentityKind] = mapped_column(
        enum_type(IdentityKind, "identity_kind"),
        nullable=False,
    )
    redirect_uris: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    grant_types: Mapped[list[str]] = mapped_column(ARRAY(String(64)), nullable=False)
    response_types: Mapped[list[str]] = mapped_column(ARRAY(String(32)), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(64)), nullable=False)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(40), nullable=False)
    token_endpoint_auth_signing_alg: Mapped[str | None] = mapped_column(String(8))
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    jwks_uri: Mapped[str | None] = mapped_column(Text)
    tls_client_auth_subject_dn: Mapped[str | None] = mapped_column(Text)
    authorization_details_types: Mapped[list[str]] = mapped_column(ARRAY(String(64)), nullable=False)
    access_token_signed_response_alg: Mapped[str] = mapped_column(String(8), nullable=False)
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(8), nullable=False)
    software_id: Mapped[str | None] = mapped_column(String(200))
    contacts: Mapped[list[str]] = mapped_column(ARRAY(String(254)), nullable=False)
    # RFC 7592 s3: the registration access token, as a keyed hash only.
    registration_access_token_hash: Mapped[bytes | None] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        CheckConstraint(
            "token_endpoint_auth_method IN"
            " ('private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth', 'none')",
            name="auth_method",
        ),
        # `none` (a public client) is for the bank's own apps only.
        CheckConstraint("token_endpoint_auth_method <> 'none' OR first_party", name="public_is_first_party"),
        CheckConstraint("identity_kind = 'customer' OR first_party", name="staff_is_first_party"),
        CheckConstraint("jwks IS NULL OR jwks_uri IS NULL", name="one_key_source"),
        CheckConstraint(
            "token_endpoint_auth_method <> 'tls_client_auth' OR tls_client_auth_subject_dn IS NOT NULL",
            name="subject_dn_for_tls_client_auth",
        ),
        CheckConstraint(
            "token_endpoint_auth_method NOT IN ('private_key_jwt', 'self_signed_tls_client_auth')"
            " OR jwks IS NOT NULL OR jwks_uri IS NOT NULL",
            name="keys_for_key_based_auth",
        ),
    )
