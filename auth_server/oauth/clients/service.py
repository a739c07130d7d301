"""Client registry: clients registered by staff, the CLI or themselves (RFC 7591), under FAPI 2.0 rules."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from joserfc.jwk import ECKey, OKPKey, RSAKey
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.identities.schemas import IdentityKind
from auth_server.oauth.client_auth.certificates import parse_distinguished_name
from auth_server.oauth.clients import repository
from auth_server.oauth.clients.errors import ClientNotFound, MalformedClientMetadata
from auth_server.oauth.clients.models import ClientStatus, OAuthClient, RegistrationSource
from auth_server.oauth.clients.rfc7591 import check_metadata_form
from auth_server.oauth.clients.schemas import (
    CONFIDENTIAL_METHODS,
    SUPPORTED_AUTHORIZATION_DETAILS_TYPES,
    SUPPORTED_SCOPES,
    ClientMetadata,
    ClientRecord,
)
from auth_server.oauth.errors import InvalidClientMetadata, InvalidRedirectUri
from auth_server.oauth.events import CLIENTS_TOPIC, report_oauth_change
from auth_server.oauth.jose import import_public_key_set
from obank.actor import Actor
from obank.unit_of_work import UnitOfWork

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1"})


def _check_redirect_uri(uri: str, public: bool) -> None:
    """Exact-match URIs: https, or for native public clients http on a loopback IP literal (RFC 8252 s7.3)."""
    parts = urlsplit(uri)
    if "#" in uri:
        raise InvalidRedirectUri(f"{uri!r}: a redirect URI must not contain a fragment (RFC 6749 s3.1.2)")
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and public and parts.hostname in LOOPBACK_HOSTS:
        return
    raise InvalidRedirectUri(f"{uri!r}: redirect URIs must be https (loopback http only for native public apps)")


def _check_keys(metadata: ClientMetadata) -> None:
    if metadata.jwks is not None and metadata.jwks_uri is not None:
        raise InvalidClientMetadata("jwks and jwks_uri must not both be present (RFC 7591 s2)")
    if metadata.jwks_uri is not None and urlsplit(metadata.jwks_uri).scheme != "https":
        raise InvalidClientMetadata("jwks_uri must be an https URL")
    if metadata.jwks is not None:
        try:
            key_set = import_public_key_set(metadata.jwks)
        except ValueError as exc:
            raise InvalidClientMetadata(f"jwks: {exc}") from exc
        if metadata.token_endpoint_auth_method == "self_signed_tls_client_auth" and not any(  # noqa: S105
            key.get("x5c") or key.get("x5t#S256") for key in key_set.keys if isinstance(key, RSAKey | ECKey | OKPKey)
        ):
            raise InvalidClientMetadata(
                "self_signed_tls_client_auth needs a JWK carrying x5c or x5t#S256 (RFC 8705 s2.2)"
            )
    method = metadata.token_endpoint_auth_method
    if method in ("private_key_jwt", "self_signed_tls_client_auth") and metadata.jwks is None and not metadata.jwks_uri:
        raise InvalidClientMetadata(f"{method} needs jwks or jwks_uri")


def _check_subject_dn(metadata: ClientMetadata) -> None:
    if metadata.token_endpoint_auth_method == "tls_client_auth" and not metadata.tls_client_auth_subject_dn:  # noqa: S105
        raise InvalidClientMetadata("tls_client_auth needs tls_client_auth_subject_dn (RFC 8705 s2.1.2)")
    if metadata.tls_client_auth_subject_dn is not None:
        try:
            parse_distinguished_name(metadata.tls_client_auth_subject_dn)
        except ValueError as exc:
            raise InvalidClientMetadata("tls_client_auth_subject_dn is not an RFC 4514 distinguished name") from exc


def validate_metadata(metadata: ClientMetadata, *, first_party: bool) -> dict[str, Any]:
    """Check the metadata against RFC 7591 and FAPI 2.0; return the columns to store."""
    method = metadata.token_endpoint_auth_method
    public = method == "none"
    redirect_uris = list(dict.fromkeys(metadata.redirect_uris))
    for uri in redirect_uris:
        _check_redirect_uri(uri, public)
    try:
        check_metadata_form(metadata.model_dump(exclude={"jwks"}))
    except MalformedClientMetadata as exc:
        raise InvalidClientMetadata(str(exc)) from exc
    if public and not first_party:
        raise InvalidClientMetadata("public clients (token_endpoint_auth_method none) are for the bank's own apps")
    grants = list(dict.fromkeys(metadata.grant_types))
    if public and "client_credentials" in grants:
        raise InvalidClientMetadata("a public client cannot use client_credentials")
    if "refresh_token" in grants and "authorization_code" not in grants:
        raise InvalidClientMetadata("refresh_token comes only with authorization_code")
    response_types = ["code"] if "authorization_code" in grants else []
    if metadata.response_types is not None and sorted(set(metadata.response_types)) != response_types:
        raise InvalidClientMetadata('response_types must be ["code"] with authorization_code, else empty')
    if "authorization_code" in grants and not redirect_uris:
        raise InvalidRedirectUri("authorization_code needs at least one redirect URI")
    scopes = list(dict.fromkeys(metadata.scope.split()))
    unknown = [s for s in scopes if s not in SUPPORTED_SCOPES]
    if unknown:
        raise InvalidClientMetadata(f"unsupported scopes: {' '.join(unknown)}")
    types = list(dict.fromkeys(metadata.authorization_details_types))
    unknown = [t for t in types if t not in SUPPORTED_AUTHORIZATION_DETAILS_TYPES]
    if unknown:
        raise InvalidClientMetadata(f"unsupported authorization_details_types: {' '.join(unknown)}")
    _check_keys(metadata)
    _check_subject_dn(metadata)
    if method not in CONFIDENTIAL_METHODS and not public:
        raise InvalidClientMetadata(f"unsupported token_endpoint_auth_method {method}")
    return {
        "client_name": metadata.client_name,
        "redirect_uris": redirect_uris,
        "grant_types": grants,
        "response_types": response_types,
        "scopes": scopes,
        "token_endpoint_auth_method": method,
        "token_endpoint_auth_signing_alg": metadata.token_endpoint_auth_signing_alg,
        "jwks": metadata.jwks,
        "jwks_uri": metadata.jwks_uri,
        "tls_client_auth_subject_dn": metadata.tls_client_auth_subject_dn,
        "authorization_details_types": types,
        "access_token_signed_response_alg": metadata.access_token_signed_response_alg,
        "id_token_signed_response_alg": metadata.id_token_signed_response_alg,
        "software_id": metadata.software_id,
        "contacts": list(metadata.contacts),
    }


def _event_details(record: ClientRecord) -> dict[str, Any]:
    metadata = record.metadata()
    metadata.pop("jwks", None)  # public keys are not secret, but bulky; the thumbprints say which
    keys = record.inline_keys()
    thumbprints = [k.thumbprint() for k in keys.keys] if keys else []
    return {**metadata, "status": record.status.value, "jwk_thumbprints": thumbprints}


async def find_client(session: AsyncSession, client_id: str) -> ClientRecord | None:
    """The client, or None; callers decide whether a missing client is a 404 or invalid_client."""
    row = await repository.read(session, client_id)
    return None if row is None else ClientRecord.from_model(row)


async def get_client(session: AsyncSession, client_id: str) -> ClientRecord:
    """The client; raises ClientNotFound."""
    found = await find_client(session, client_id)
    if found is None:
        raise ClientNotFound(client_id)
    return found


async def find_client_by_registration_token(session: AsyncSession, hashes: Sequence[bytes]) -> ClientRecord | None:
    """The client holding a registration access token with one of these keyed hashes (RFC 7592 s3), locked."""
    client = await repository.by_registration_token(session, hashes)
    return None if client is None else ClientRecord.from_model(client)


async def list_clients(session: AsyncSession) -> list[ClientRecord]:
    return [ClientRecord.from_model(c) for c in await repository.list_all(session)]


async def register_client(
    uow: UnitOfWork,
    metadata: ClientMetadata,
    *,
    client_id: str | None = None,
    first_party: bool = False,
    identity_kind: IdentityKind = IdentityKind.CUSTOMER,
    registration: RegistrationSource = RegistrationSource.ADMIN,
    registration_token_hash: bytes | None = None,
    registered_by: Actor | None = None,
    now: datetime | None = None,
) -> ClientRecord:
    """Register a client; a chosen client id must be free.

    The unit of work's actor registers it, unless `registered_by` names another (a client registering itself).
    """
    now = now or datetime.now(UTC)
    session = uow.session
    columns = validate_metadata(metadata, first_party=first_party)
    if identity_kind is IdentityKind.STAFF and not first_party:
        raise InvalidClientMetadata("only the bank's own apps may sign staff in")
    client_id = client_id or secrets.token_urlsafe(18)
    if await repository.exists(session, client_id):
        raise InvalidClientMetadata(f"client id {client_id} is taken")
    client = OAuthClient(
        client_id=client_id,
        status=ClientStatus.ACTIVE,
        registration=registration,
        first_party=first_party,
        identity_kind=identity_kind,
        registration_access_token_hash=registration_token_hash,
        created_at=now,
        updated_at=now,
        **columns,
    )
    await repository.add(session, client)
    record = ClientRecord.from_model(client)
    report_oauth_change(
        uow,
        topic=CLIENTS_TOPIC,
        action="client.registered",
        entity_type="oauth_client",
        entity_id=client_id,
        details=_event_details(record),
        actor=registered_by,
    )
    return record


async def update_client(
    uow: UnitOfWork, client_id: str, metadata: ClientMetadata, *, now: datetime | None = None
) -> ClientRecord:
    """Replace a client's metadata (RFC 7592 s2.2 semantics: omitted values are reset to defaults)."""
    now = now or datetime.now(UTC)
    session = uow.session
    client = await repository.get(session, client_id, for_update=True)
    if client is None:
        raise ClientNotFound(client_id)
    before = ClientRecord.from_model(client)
    for name, value in validate_metadata(metadata, first_party=client.first_party).items():
        setattr(client, name, value)
    client.updated_at = now
    await session.flush()
    await repository.announce_change(session, client_id)
    after = ClientRecord.from_model(client)
    report_oauth_change(
        uow,
        topic=CLIENTS_TOPIC,
        action="client.updated",
        entity_type="oauth_client",
        entity_id=client_id,
        details=_event_details(after),
        before=_event_details(before),
    )
    return after


async def set_client_status(
    uow: UnitOfWork, client_id: str, status: ClientStatus, *, now: datetime | None = None
) -> ClientRecord:
    """Disable a client (it can no longer authenticate) or enable it again."""
    now = now or datetime.now(UTC)
    session = uow.session
    client = await repository.get(session, client_id, for_update=True)
    if client is None:
        raise ClientNotFound(client_id)
    if client.status is status:
        return ClientRecord.from_model(client)
    client.status = status
    client.updated_at = now
    if status is ClientStatus.DISABLED:
        client.registration_access_token_hash = None
    await session.flush()
    await repository.announce_change(session, client_id)
    record = ClientRecord.from_model(client)
    report_oauth_change(
        uow,
        topic=CLIENTS_TOPIC,
        action="client.disabled" if status is ClientStatus.DISABLED else "client.enabled",
        entity_type="oauth_client",
        entity_id=client_id,
        details={"client_id": client_id, "status": status.value},
    )
    return record
