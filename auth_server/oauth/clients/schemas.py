"""Shapes of clients: registration metadata (RFC 7591 s2), the record other modules read, API views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from joserfc.jwk import KeySet
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Row

from auth_server.identities.schemas import IdentityKind
from auth_server.oauth.clients.models import ClientStatus, OAuthClient, RegistrationSource
from auth_server.oauth.jose import import_public_key_set

AuthMethod = Literal["private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth", "none"]
GrantType = Literal["authorization_code", "refresh_token", "client_credentials"]
ServerAlg = Literal["ES256", "PS256"]
ClientAlg = Literal["PS256", "ES256", "EdDSA"]
ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{3,64}$")]

CONFIDENTIAL_METHODS = frozenset({"private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth"})
MTLS_METHODS = frozenset({"tls_client_auth", "self_signed_tls_client_auth"})
SUPPORTED_SCOPES = ("openid", "accounts", "payments", "fundsconfirmations")
# RFC 9396 types, one per Open Banking consent kind; each carries the consent id. UK OB v4.0 names the consent
# only by `openbanking_intent_id` and defines no RFC 9396 type: these follow RFC 9396's own examples
# (`account_information`, `payment_initiation`), and funds confirmation is named in the same way.
ACCOUNT_INFORMATION = "account_information"
PAYMENT_INITIATION = "payment_initiation"
FUNDS_CONFIRMATION = "funds_confirmation"
SUPPORTED_AUTHORIZATION_DETAILS_TYPES = (ACCOUNT_INFORMATION, PAYMENT_INITIATION, FUNDS_CONFIRMATION)


class ClientMetadata(BaseModel):
    """Client metadata as registered (RFC 7591 s2, RFC 8705 s2.1.2, RFC 9396 s10); FAPI rules apply on top."""

    model_config = ConfigDict(extra="ignore")

    client_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    redirect_uris: list[Annotated[str, StringConstraints(max_length=2000)]] = Field(default_factory=list, max_length=20)
    grant_types: list[GrantType] = Field(default_factory=lambda: list[GrantType](["authorization_code"]), min_length=1)
    response_types: list[Literal["code"]] | None = None
    scope: Annotated[str, StringConstraints(max_length=1000)] = ""
    token_endpoint_auth_method: AuthMethod = "private_key_jwt"  # noqa: S105
    token_endpoint_auth_signing_alg: ClientAlg | None = None
    jwks: dict[str, Any] | None = None
    jwks_uri: Annotated[str, StringConstraints(max_length=2000)] | None = None
    tls_client_auth_subject_dn: Annotated[str, StringConstraints(max_length=1000)] | None = None
    authorization_details_types: list[str] = Field(default_factory=list, max_length=10)
    access_token_signed_response_alg: ServerAlg = "ES256"  # noqa: S105
    id_token_signed_response_alg: ServerAlg = "ES256"  # noqa: S105
    software_id: Annotated[str, StringConstraints(max_length=200)] | None = None
    contacts: list[Annotated[str, StringConstraints(max_length=254)]] = Field(default_factory=list, max_length=10)


class AdminClientCreate(ClientMetadata):
    """What staff register: any metadata, an optional chosen client id, and whether it is the bank's own app."""

    client_id: ClientId | None = None
    first_party: bool = False


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A registered client as the rest of the authorization server reads it."""

    client_id: str
    client_name: str
    status: ClientStatus
    registration: RegistrationSource
    first_party: bool
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    response_types: tuple[str, ...]
    scopes: tuple[str, ...]
    token_endpoint_auth_method: str
    token_endpoint_auth_signing_alg: str | None
    jwks: dict[str, Any] | None
    jwks_uri: str | None
    tls_client_auth_subject_dn: str | None
    authorization_details_types: tuple[str, ...]
    access_token_signed_response_alg: str
    id_token_signed_response_alg: str
    software_id: str | None
    contacts: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    identity_kind: IdentityKind = IdentityKind.CUSTOMER

    @property
    def is_confidential(self) -> bool:
        return self.token_endpoint_auth_method in CONFIDENTIAL_METHODS

    @property
    def is_active(self) -> bool:
        return self.status is ClientStatus.ACTIVE

    def inline_keys(self) -> KeySet | None:
        return None if self.jwks is None else import_public_key_set(self.jwks)

    @classmethod
    def from_model(cls, client: OAuthClient | Row[Any]) -> ClientRecord:
        """From the ORM object or a plain row of the clients table (same attribute names)."""
        return cls(
            client_id=client.client_id,
            client_name=client.client_name,
            status=client.status,
            registration=client.registration,
            first_party=client.first_party,
            redirect_uris=tuple(client.redirect_uris),
            grant_types=tuple(client.grant_types),
            response_types=tuple(client.response_types),
            scopes=tuple(client.scopes),
            token_endpoint_auth_method=client.token_endpoint_auth_method,
            token_endpoint_auth_signing_alg=client.token_endpoint_auth_signing_alg,
            jwks=client.jwks,
            jwks_uri=client.jwks_uri,
            tls_client_auth_subject_dn=client.tls_client_auth_subject_dn,
            authorization_details_types=tuple(client.authorization_details_types),
            access_token_signed_response_alg=client.access_token_signed_response_alg,
            id_token_signed_response_alg=client.id_token_signed_response_alg,
            software_id=client.software_id,
            contacts=tuple(client.contacts),
            created_at=client.created_at,
            updated_at=client.updated_at,
            identity_kind=client.identity_kind,
        )

    def metadata(self) -> dict[str, Any]:
        """The registered metadata in RFC 7591 names, as the registration and admin APIs return it."""
        body: dict[str, Any] = {
            "client_id": self.client_id,
            "client_id_issued_at": int(self.created_at.timestamp()),
            "client_name": self.client_name,
            "redirect_uris": list(self.redirect_uris),
            "grant_types": list(self.grant_types),
            "response_types": list(self.response_types),
            "scope": " ".join(self.scopes),
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "authorization_details_types": list(self.authorization_details_types),
            "access_token_signed_response_alg": self.access_token_signed_response_alg,
            "id_token_signed_response_alg": self.id_token_signed_response_alg,
            "tls_client_certificate_bound_access_tokens": self.is_confidential,
            "contacts": list(self.contacts),
        }
        optional = {
            "token_endpoint_auth_signing_alg": self.token_endpoint_auth_signing_alg,
            "jwks": self.jwks,
            "jwks_uri": self.jwks_uri,
            "tls_client_auth_subject_dn": self.tls_client_auth_subject_dn,
            "software_id": self.software_id,
        }
        body.update({name: value for name, value in optional.items() if value is not None})
        return body


class ClientView(BaseModel):
    """A client as the admin API shows it: its metadata plus status and provenance."""

    client_id: str
    status: ClientStatus
    registration: RegistrationSource
    first_party: bool
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: ClientRecord) -> ClientView:
        return cls(
            client_id=record.client_id,
            status=record.status,
            registration=record.registration,
            first_party=record.first_party,
            metadata=record.metadata(),
            created_at=record.created_at,
            updated_at=record.updated_at,
        )
