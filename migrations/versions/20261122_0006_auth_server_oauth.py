"""auth_server OAuth (signing keys, clients, assertion replay cache, pushed requests, tokens); core_banking consents

Revision ID: 20261122_0006
Revises: 20261122_0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261122_0006"
down_revision: str | Sequence[str] | None = "20261122_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUTH = "auth_server"
CORE = "core_banking"


def _enum(name: str, length: int, schema: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length, schema=schema)


def _created_expires() -> list[sa.Column[Any]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("kind", _enum("consent_kind", 24, CORE, "ACCOUNT_ACCESS", "DOMESTIC_PAYMENT"), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column(
            "status",
            _enum("consent_status", 24, CORE, "AwaitingAuthorisation", "Authorised", "Rejected", "Consumed", "Revoked"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        sa.Column("account_ids", sa.ARRAY(sa.UUID()), nullable=False),
        sa.Column("permissions", sa.ARRAY(sa.String(length=40)), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transactions_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transactions_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("creditor_name", sa.String(length=140), nullable=True),
        sa.Column("creditor_scheme", sa.String(length=40), nullable=True),
        sa.Column("creditor_identification", sa.String(length=256), nullable=True),
        sa.Column("reference", sa.String(length=35), nullable=True),
        sa.CheckConstraint(
            "(kind = 'ACCOUNT_ACCESS' AND permissions IS NOT NULL AND cardinality(permissions) > 0"
            " AND amount_minor IS NULL AND currency IS NULL AND creditor_name IS NULL"
            " AND creditor_identification IS NULL AND reference IS NULL)"
            " OR (kind = 'DOMESTIC_PAYMENT' AND permissions IS NULL AND expires_at IS NULL"
            " AND amount_minor IS NOT NULL AND currency IS NOT NULL AND creditor_name IS NOT NULL"
            " AND creditor_scheme IS NOT NULL AND creditor_identification IS NOT NULL)",
            name=op.f("ck_consents_kind_details"),
        ),
        sa.CheckConstraint("currency IS NULL OR currency ~ '^[A-Z]{3}$'", name=op.f("ck_consents_currency_code")),
        sa.CheckConstraint(
            "kind <> 'DOMESTIC_PAYMENT' OR cardinality(account_ids) <= 1", name=op.f("ck_consents_one_debtor_account")
        ),
        sa.CheckConstraint(
            "status NOT IN ('Authorised', 'Consumed') OR (customer_id IS NOT NULL AND cardinality(account_ids) > 0)",
            name=op.f("ck_consents_authorised_has_accounts"),
        ),
        sa.CheckConstraint("amount_minor IS NULL OR amount_minor > 0", name=op.f("ck_consents_amount_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        schema=CORE,
    )
    op.create_index("ix_consents_client_id", "consents", ["client_id"], schema=CORE)
    op.create_index("ix_consents_customer_id", "consents", ["customer_id"], schema=CORE)

    op.create_table(
        "signing_keys",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("alg", sa.String(length=8), nullable=False),
        sa.Column("status", _enum("signing_key_status", 16, AUTH, "ACTIVE", "RETIRED"), nullable=False),
        sa.Column("public_jwk", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("private_jwk_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("publish_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'ACTIVE' AND retired_at IS NULL AND publish_until IS NULL)"
            " OR (status = 'RETIRED' AND retired_at IS NOT NULL AND publish_until IS NOT NULL)",
            name=op.f("ck_signing_keys_retirement"),
        ),
        sa.CheckConstraint("alg IN ('ES256', 'PS256')", name=op.f("ck_signing_keys_alg")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_signing_keys_kid")),
        schema=AUTH,
    )
    op.create_index(
        "uq_signing_keys_active_alg",
        "signing_keys",
        ["alg"],
        unique=True,
        schema=AUTH,
        postgresql_where=sa.text("status = 'ACTIVE'"),
    )

    op.create_table(
        "oauth_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("client_name", sa.String(length=200), nullable=False),
        sa.Column("status", _enum("client_status", 16, AUTH, "ACTIVE", "DISABLED"), nullable=False),
        sa.Column("registration", _enum("registration_source", 16, AUTH, "ADMIN", "DYNAMIC"), nullable=False),
        sa.Column("first_party", sa.Boolean(), nullable=False),
        sa.Column("redirect_uris", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("grant_types", sa.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("response_types", sa.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("scopes", sa.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("token_endpoint_auth_method", sa.String(length=40), nullable=False),
        sa.Column("token_endpoint_auth_signing_alg", sa.String(length=8), nullable=True),
        sa.Column("jwks", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("jwks_uri", sa.Text(), nullable=True),
        sa.Column("tls_client_auth_subject_dn", sa.Text(), nullable=True),
        sa.Column("authorization_details_types", sa.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("access_token_signed_response_alg", sa.String(length=8), nullable=False),
        sa.Column("id_token_signed_response_alg", sa.String(length=8), nullable=False),
        sa.Column("software_id", sa.String(length=200), nullable=True),
        sa.Column("contacts", sa.ARRAY(sa.String(length=254)), nullable=False),
        sa.Column("registration_access_token_hash", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "token_endpoint_auth_method <> 'none' OR first_party", name=op.f("ck_oauth_clients_public_is_first_party")
        ),
        sa.CheckConstraint(
            "token_endpoint_auth_method <> 'tls_client_auth' OR tls_client_auth_subject_dn IS NOT NULL",
            name=op.f("ck_oauth_clients_subject_dn_for_tls_client_auth"),
        ),
        sa.CheckConstraint(
            "token_endpoint_auth_method IN ('private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth', 'none')",
            name=op.f("ck_oauth_clients_auth_method"),
        ),
        sa.CheckConstraint(
            "token_endpoint_auth_method NOT IN ('private_key_jwt', 'self_signed_tls_client_auth')"
            " OR jwks IS NOT NULL OR jwks_uri IS NOT NULL",
            name=op.f("ck_oauth_clients_keys_for_key_based_auth"),
        ),
        sa.CheckConstraint("jwks IS NULL OR jwks_uri IS NULL", name=op.f("ck_oauth_clients_one_key_source")),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_oauth_clients")),
        sa.UniqueConstraint(
            "registration_access_token_hash", name=op.f("uq_oauth_clients_registration_access_token_hash")
        ),
        schema=AUTH,
    )

    op.create_table(
        "initial_access_tokens",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        *_created_expires(),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_initial_access_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_initial_access_tokens_token_hash")),
        schema=AUTH,
    )

    op.create_table(
        "used_client_assertions",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("jti", sa.String(length=256), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "jti", name=op.f("pk_used_client_assertions")),
        schema=AUTH,
    )
    op.create_index("ix_used_client_assertions_expires_at", "used_client_assertions", ["expires_at"], schema=AUTH)

    op.create_table(
        "pushed_authorization_requests",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("request_uri_hash", sa.LargeBinary(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("consent_id", sa.String(length=128), nullable=True),
        *_created_expires(),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pushed_authorization_requests")),
        sa.UniqueConstraint("request_uri_hash", name=op.f("uq_pushed_authorization_requests_request_uri_hash")),
        schema=AUTH,
    )
    op.create_index(
        "ix_pushed_authorization_requests_expires_at", "pushed_authorization_requests", ["expires_at"], schema=AUTH
    )

    op.create_table(
        "issued_tokens",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", _enum("token_kind", 16, AUTH, "ACCESS", "REFRESH"), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("subject_kind", _enum("subject_kind", 16, AUTH, "client", "customer", "staff"), nullable=False),
        sa.Column("scopes", sa.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("authorization_details", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("consent_id", sa.String(length=128), nullable=True),
        sa.Column("certificate_thumbprint", sa.String(length=64), nullable=True),
        sa.Column("signing_kid", sa.String(length=64), nullable=True),
        sa.Column("acr", sa.Text(), nullable=True),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("grant_id", sa.UUID(), nullable=True),
        sa.Column("authorization_code_id", sa.UUID(), nullable=True),
        sa.Column("parent_token_id", sa.UUID(), nullable=True),
        sa.Column("token_hash", sa.LargeBinary(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "kind <> 'ACCESS' OR (expires_at IS NOT NULL AND token_hash IS NULL)",
            name=op.f("ck_issued_tokens_access_token"),
        ),
        sa.CheckConstraint("kind <> 'REFRESH' OR token_hash IS NOT NULL", name=op.f("ck_issued_tokens_refresh_token")),
        sa.CheckConstraint(
            "(revoked_at IS NULL) = (revocation_reason IS NULL)", name=op.f("ck_issued_tokens_revocation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_issued_tokens_token_hash")),
        schema=AUTH,
    )
    for column in ("authorization_code_id", "client_id", "expires_at", "grant_id"):
        op.create_index(f"ix_issued_tokens_{column}", "issued_tokens", [column], schema=AUTH)


def downgrade() -> None:
    op.drop_table("issued_tokens", schema=AUTH)
    op.drop_table("pushed_authorization_requests", schema=AUTH)
    op.drop_table("used_client_assertions", schema=AUTH)
    op.drop_table("initial_access_tokens", schema=AUTH)
    op.drop_table("oauth_clients", schema=AUTH)
    op.drop_table("signing_keys", schema=AUTH)
    op.drop_table("consents", schema=CORE)
