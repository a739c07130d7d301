"""Authenticate the client of a back-channel request: private_key_jwt, tls_client_auth or self-signed mTLS."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.oauth.client_auth.certificates import certificate_registered, subject_matches
from auth_server.oauth.client_auth.errors import ClientKeysUnavailable
from auth_server.oauth.client_auth.keys import ClientKeys
from auth_server.oauth.client_auth.replay import ReplayCache
from auth_server.oauth.clients.cache import ClientCache
from auth_server.oauth.clients.schemas import ClientRecord
from auth_server.oauth.config import (
    CLIENT_ASSERTION_MAX_LIFETIME_S,
    CLOCK_SKEW_S,
    EXPIRY_LEEWAY_S,
    OAuthConfig,
)
from auth_server.oauth.errors import InvalidClient, InvalidJWT, InvalidRequest
from auth_server.oauth.jose import SIGNING_ALGORITHMS, verify_jwt
from obank.certs import certificate_thumbprint_s256

JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_JTI_LENGTH = 256


@dataclass(frozen=True, slots=True)
class AuthenticatedClient:
    """The client a request came from, how it proved it, and the certificate on its TLS connection."""

    client: ClientRecord
    method: str
    certificate: x509.Certificate | None

    @property
    def client_id(self) -> str:
        return self.client.client_id

    @property
    def certificate_thumbprint(self) -> str | None:
        """RFC 8705 s3.1 `x5t#S256` of the connection's client certificate."""
        return None if self.certificate is None else certificate_thumbprint_s256(self.certificate)


@dataclass(frozen=True, slots=True)
class ClientAuthenticator:
    """What client authentication needs beyond the request: issuer, replay cache, clients and their keys."""

    config: OAuthConfig
    replay_cache: ReplayCache
    client_keys: ClientKeys
    clients: ClientCache

    async def authenticate(
        self,
        session: AsyncSession,
        form: Mapping[str, str],
        certificate: x509.Certificate | None,
        *,
        now: datetime | None = None,
    ) -> AuthenticatedClient:
        """The authenticated client; raises InvalidClient (401) for any failure, naming the reason."""
        now = now or datetime.now(UTC)
        assertion_type = form.get("client_assertion_type")
        assertion = form.get("client_assertion")
        if assertion_type is not None or assertion is not None:
            if assertion_type != JWT_BEARER_ASSERTION or not assertion:
                raise InvalidClient(f"client_assertion_type must be {JWT_BEARER_ASSERTION} with a client_assertion")
            client_id = _assertion_subject(assertion)
            if form.get("client_id") not in (None, client_id):
                raise InvalidClient("client_id differs from the client assertion's subject")
            client = await self._client(session, client_id)
            if client.token_endpoint_auth_method != "private_key_jwt":  # noqa: S105
                raise InvalidClient(f"client registered for {client.token_endpoint_auth_method}, not private_key_jwt")
            await self._verify_assertion(client, assertion, now)
            return AuthenticatedClient(client, "private_key_jwt", certificate)
        named_client = form.get("client_id")
        if not named_client:
            raise InvalidClient("no client authentication: send a client assertion or use mutual TLS")
        client = await self._client(session, named_client)
        method = client.token_endpoint_auth_method
        if method == "private_key_jwt":
            raise InvalidClient("this client authenticates with private_key_jwt")
        if method == "none":
            return AuthenticatedClient(client, "none", certificate)
        if certificate is None:
            raise InvalidClient(f"{method} requires a TLS client certificate")
        if method == "tls_client_auth":
            assert client.tls_client_auth_subject_dn is not None
            if not subject_matches(certificate, client.tls_client_auth_subject_dn):
                raise InvalidClient("the client certificate's subject is not the registered one")
        else:
            keys = await self._keys(client, None)
            if not certificate_registered(certificate, keys):
                raise InvalidClient("the client certificate is not one the client registered")
        return AuthenticatedClient(client, method, certificate)

    async def _client(self, session: AsyncSession, client_id: str) -> ClientRecord:
        client = await self.clients.client(session, client_id)
        if client is None or not client.is_active:
            raise InvalidClient("unknown or disabled client")
        return client

    async def _keys(self, client: ClientRecord, kid: str | None) -> Any:
        try:
            return await self.client_keys.keys(client, kid=kid)
        except (ClientKeysUnavailable, ValueError) as exc:
            raise InvalidClient(f"the client's keys are unavailable: {exc}") from exc

    async def _verify_assertion(self, client: ClientRecord, assertion: str, now: datetime) -> None:
        """RFC 7523 s3 as FAPI 2.0 SP s5.3.2.1 tightens it."""
        algorithms = (
            [client.token_endpoint_auth_signing_alg] if client.token_endpoint_auth_signing_alg else SIGNING_ALGORITHMS
        )
        try:
            kid = _peek(assertion, 0).get("kid")
            keys = await self._keys(client, kid if isinstance(kid, str) else None)
            _header, claims = verify_jwt(assertion, keys, algorithms)
        except InvalidJWT as exc:
            raise InvalidClient(f"client assertion refused: {exc}") from exc
        if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
            raise InvalidClient("the client assertion's iss and sub must both be the client id")
        # FAPI 2.0 SP s5.3.2.1: the issuer identifier, as a string: no array, no endpoint URL.
        audience = claims.get("aud")
        if not isinstance(audience, str) or audience != self.config.issuer:
            raise InvalidClient(f"the client assertion's aud must be the string {self.config.issuer!r}")
        timestamp = now.timestamp()
        expires = _numeric(claims, "exp", required=True)
        assert expires is not None
        if expires <= timestamp - EXPIRY_LEEWAY_S:
            raise InvalidClient("the client assertion has expired")
        if expires > timestamp + CLIENT_ASSERTION_MAX_LIFETIME_S + CLOCK_SKEW_S:
            raise InvalidClient(f"the client assertion must expire within {CLIENT_ASSERTION_MAX_LIFETIME_S} s")
        for name in ("iat", "nbf"):
            value = _numeric(claims, name, required=False)
            if value is not None and value > timestamp + CLOCK_SKEW_S:
                raise InvalidClient(f"the client assertion's {name} is more than {CLOCK_SKEW_S} s in the future")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
            raise InvalidClient("the client assertion needs a jti")
        # Kept until the assertion could no longer be accepted anyway.
        keep_until = datetime.fromtimestamp(expires + EXPIRY_LEEWAY_S, UTC)
        if not await self.replay_cache.claim(client.client_id, jti, keep_until):
            raise InvalidClient("the client assertion was already used (jti replay)")


def _peek(token: str, part: int) -> dict[str, Any]:
    """One segment of a compact JWS, unverified; only to find the client and key before verifying."""
    segments = token.split(".")
    if len(segments) != 3:
        raise InvalidClient("the client assertion is not a compact JWS")
    try:
        value = json.loads(base64.urlsafe_b64decode(segments[part] + "=" * (-len(segments[part]) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidClient("the client assertion is not a JWT") from exc
    if not isinstance(value, dict):
        raise InvalidClient("the client assertion is not a JWT")
    return value


def _assertion_subject(assertion: str) -> str:
    subject = _peek(assertion, 1).get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidClient("the client assertion has no sub")
    return subject


def _numeric(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise InvalidClient(f"the client assertion needs {name}")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidClient(f"the client assertion's {name} must be a number")
    return float(value)


def require_certificate(client: AuthenticatedClient) -> str:
    """The thumbprint to bind tokens to; confidential clients get only sender-constrained tokens (FAPI 2.0 s5.3.2.1)."""
    thumbprint = client.certificate_thumbprint
    if thumbprint is None:
        raise InvalidRequest("a TLS client certificate is required: access tokens are bound to it (RFC 8705 s3)")
    return thumbprint
