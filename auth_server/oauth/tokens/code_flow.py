"""The code flow's grants at the token endpoint: `authorization_code` and `refresh_token`, with ID tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth_server.oauth.authorize.codes import find_code
from auth_server.oauth.client_auth.service import AuthenticatedClient
from auth_server.oauth.clients.schemas import ClientRecord
from auth_server.oauth.errors import InvalidGrant, InvalidRequest, InvalidScope, UnauthorizedClient
from auth_server.oauth.events import TOKENS_TOPIC, Actor, record_oauth_event
from auth_server.oauth.grants import service as grants_service
from auth_server.oauth.jose import SERVER_SIGNING_ALGORITHMS, sign_jwt
from auth_server.oauth.server import OAuthServer
from auth_server.oauth.tokens import repository
from auth_server.oauth.tokens.models import SubjectKind, TokenKind
from auth_server.oauth.tokens.schemas import IssuedAccessToken, TokenRecord, TokenResponse
from auth_server.oauth.tokens.service import REFRESH_TOKEN_PREFIX, refresh_token_hash
from obank.database import unit_of_work

AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"  # noqa: S105
ID_TOKEN_LIFETIME_S = 300
REFRESH_TOKEN_LIFETIME_S = 90 * 24 * 3600
ROTATED = "rotated"
ROTATION_GRACE_S = 30  # a public client that lost the response may retry with the old token this long
CODE_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636 s4.1


def _pkce_matches(verifier: str, challenge: str) -> bool:
    """RFC 7636 s4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return hmac.compare_digest(digest, challenge)


def _thumbprint(caller: AuthenticatedClient) -> str | None:
    """The certificate to bind to: required for confidential clients (FAPI 2.0 SP s5.3.2.1)."""
    thumbprint = caller.certificate_thumbprint
    if caller.client.is_confidential and thumbprint is None:
        raise InvalidRequest("a TLS client certificate is required: tokens are bound to it (RFC 8705 s3)")
    return thumbprint


async def _revoke_replayed(
    session: AsyncSession, server: OAuthServer, code_id: uuid.UUID, grant_id: uuid.UUID, client_id: str
) -> None:
    """RFC 6749 s4.1.2: a code used twice revokes what it issued, in its own transaction (the request fails)."""
    sessions = async_sessionmaker(session.bind, expire_on_commit=False)
    async with unit_of_work(sessions) as own:
        await server.tokens.revoke_tokens(
            own,
            Actor.client(client_id),
            authorization_code_id=code_id,
            grant_id=grant_id,
            reason="authorization_code_replayed",
        )


async def _id_token(
    server: OAuthServer,
    client: ClientRecord,
    *,
    subject: str,
    nonce: str | None,
    acr: str | None,
    amr: Sequence[str],
    auth_time: datetime | None,
    consent_id: str | None,
    now: datetime,
) -> str:
    """OpenID Connect Core s2: signed PS256/ES256 for the client (its registered alg when one of those)."""
    alg = client.id_token_signed_response_alg
    if alg not in SERVER_SIGNING_ALGORITHMS:
        alg = SERVER_SIGNING_ALGORITHMS[0]
    kid, key = await server.keys.signing_key(alg)
    claims: dict[str, Any] = {
        "iss": server.config.issuer,
        "sub": subject,
        "aud": client.client_id,
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + ID_TOKEN_LIFETIME_S,
    }
    optional: dict[str, Any] = {
        "nonce": nonce,
        "acr": acr,
        "amr": list(amr) or None,
        "auth_time": None if auth_time is None else int(auth_time.timestamp()),
        "openbanking_intent_id": consent_id,
    }
    claims.update({name: value for name, value in optional.items() if value is not None})
    return sign_jwt({"typ": "JWT", "alg": alg, "kid": kid}, claims, key)


async def _issue_refresh_token(
    session: AsyncSession,
    server: OAuthServer,
    client: ClientRecord,
    *,
    subject: str,
    scopes: Sequence[str],
    authorization_details: list[dict[str, Any]] | None,
    consent_id: str | None,
    thumbprint: str | None,
    acr: str | None,
    auth_time: datetime | None,
    grant: grants_service.GrantRecord,
    now: datetime,
    code_id: uuid.UUID | None = None,
    parent: TokenRecord | None = None,
) -> tuple[str, uuid.UUID]:
    """An opaque refresh token, stored only as a keyed hash, bound to the client, certificate and grant."""
    token = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = uuid.uuid4()
    expires_at = now + timedelta(seconds=REFRESH_TOKEN_LIFETIME_S)
    if grant.expires_at is not None:
        expires_at = min(expires_at, grant.expires_at)
    if parent is not None and parent.expires_at is not None:
        expires_at = min(expires_at, parent.expires_at)  # rotation never extends the original lifetime
    await repository.insert(
        session,
        id=token_id,
        kind=TokenKind.REFRESH,
        client_id=client.client_id,
        subject=subject,
        subject_kind=SubjectKind.CUSTOMER,
        scopes=list(scopes),
        authorization_details=authorization_details,
        consent_id=consent_id,
        certificate_thumbprint=thumbprint,
        acr=acr,
        auth_time=auth_time,
        grant_id=grant.id,
        authorization_code_id=code_id,
        parent_token_id=None if parent is None else parent.id,
        token_hash=refresh_token_hash(server.keyring, token),
        issued_at=now,
        expires_at=expires_at,
    )
    await record_oauth_event(
        session,
        server.keyring,
        Actor.client(client.client_id),
        topic=TOKENS_TOPIC,
        action="refresh_token.issued",
        entity_type="refresh_token",
        entity_id=str(token_id),
        details={
            "token_id": str(token_id),
            "client_id": client.client_id,
            "subject": subject,
            "grant_id": str(grant.id),
            "cnf_x5t_s256": thumbprint,
            "expires_at": expires_at.isoformat(),
        },
    )
    return token, token_id


def _response(issued: IssuedAccessToken, **extra: str | None) -> TokenResponse:
    return TokenResponse(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        scope=" ".join(issued.scopes) or None,
        authorization_details=issued.authorization_details,
        **extra,
    )


async def authorization_code(
    session: AsyncSession, server: OAuthServer, caller: AuthenticatedClient, form: dict[str, str]
) -> TokenResponse:
    """RFC 6749 s4.1.3 with PKCE (RFC 7636 s4.6) and certificate-bound tokens (RFC 8705 s3)."""
    client = caller.client
    if AUTHORIZATION_CODE not in client.grant_types:
        raise UnauthorizedClient("this client may not use the authorization_code grant")
    code, redirect_uri, verifier = form.get("code"), form.get("redirect_uri"), form.get("code_verifier")
    if code is None:
        raise InvalidRequest("code is required")
    if verifier is None:
        raise InvalidRequest("code_verifier is required (PKCE, RFC 7636 s4.5)")
    now = datetime.now(UTC)
    row = await find_code(session, server.keyring, code)
    # A code issued to another client reads exactly like an unknown one (RFC 6749 s4.1.3).
    if row is None or row.client_id != client.client_id:
        raise InvalidGrant("the authorization code is invalid")
    if row.used_at is not None:
        await _revoke_replayed(session, server, row.id, row.grant_id, client.client_id)
        raise InvalidGrant("the authorization code was already used; the tokens it issued are revoked")
    if row.expires_at <= now:
        raise InvalidGrant("the authorization code has expired")
    if redirect_uri != row.redirect_uri:
        raise InvalidGrant("redirect_uri does not match the authorization request (RFC 6749 s4.1.3)")
    if not CODE_VERIFIER.match(verifier) or not _pkce_matches(verifier, row.code_challenge):
        raise InvalidGrant("code_verifier does not match the code challenge (RFC 7636 s4.6)")
    row.used_at = now
    await session.flush()
    grant = await grants_service.get_grant(session, row.grant_id)
    if not grant.is_active(now):
        raise InvalidGrant("the grant behind this code is no longer active")
    thumbprint = _thumbprint(caller)
    issued = await server.tokens.issue_access_token(
        session,
        client=client,
        grant_type=AUTHORIZATION_CODE,
        subject=row.subject,
        subject_kind=SubjectKind.CUSTOMER,
        scopes=row.scopes,
        certificate_thumbprint=thumbprint,
        consent_id=row.consent_id,
        authorization_details=row.authorization_details,
        acr=row.acr,
        auth_time=row.auth_time,
        grant_id=grant.id,
        authorization_code_id=row.id,
        now=now,
    )
    refresh: str | None = None
    if REFRESH_TOKEN in client.grant_types:
        refresh, _ = await _issue_refresh_token(
            session,
            server,
            client,
            subject=row.subject,
            scopes=row.scopes,
            authorization_details=row.authorization_details,
            consent_id=row.consent_id,
            thumbprint=thumbprint,
            acr=row.acr,
            auth_time=row.auth_time,
            grant=grant,
            now=now,
            code_id=row.id,
        )
    id_token = None
    if "openid" in row.scopes:
        id_token = await _id_token(
            server,
            client,
            subject=row.subject,
            nonce=row.nonce,
            acr=row.acr,
            amr=row.amr,
            auth_time=row.auth_time,
            consent_id=row.consent_id,
            now=now,
        )
    return _response(issued, refresh_token=refresh, id_token=id_token)


async def refresh_token(
    session: AsyncSession, server: OAuthServer, caller: AuthenticatedClient, form: dict[str, str]
) -> TokenResponse:
    """RFC 6749 s6: not rotated for confidential clients (FAPI 2.0 SP s5.3.2.1), bound to client and certificate."""
    client = caller.client
    if REFRESH_TOKEN not in client.grant_types:
        raise UnauthorizedClient("this client may not use the refresh_token grant")
    presented = form.get("refresh_token")
    if presented is None:
        raise InvalidRequest("refresh_token is required")
    now = datetime.now(UTC)
    found = await server.tokens.find_token(session, presented)
    if found is None or found.kind is not TokenKind.REFRESH or found.client_id != client.client_id:
        raise InvalidGrant("the refresh token is invalid")
    record: TokenRecord = found
    rotated_within_grace = False
    if not record.is_active(now):
        if client.is_confidential or record.revoked_at is None:
            raise InvalidGrant("the refresh token is revoked or expired")
        rotated_within_grace = await _check_rotated(session, server, record, now)
    thumbprint = _thumbprint(caller)
    if record.certificate_thumbprint is not None and thumbprint != record.certificate_thumbprint:
        raise InvalidGrant("the refresh token is bound to another certificate (RFC 8705 s4)")
    if record.grant_id is None:
        raise InvalidGrant("the refresh token is invalid")
    grant = await grants_service.get_grant(session, record.grant_id)
    if not grant.is_active(now):
        raise InvalidGrant("the grant behind this refresh token is no longer active")
    scopes = list(record.scopes)
    requested = list(dict.fromkeys((form.get("scope") or "").split()))
    if requested:
        if any(s not in scopes for s in requested):
            raise InvalidScope("a refreshed token cannot have scopes beyond the original grant (RFC 6749 s6)")
        scopes = requested
    rotated: str | None = None
    if not client.is_confidential:
        # Public clients: a new refresh token each time (OAuth 2.0 Security BCP s4.14.2); the old one
        # stays usable for a short grace window (a lost response), and its reuse after that ends the grant.
        if not rotated_within_grace:
            await server.tokens.revoke_tokens(
                session, Actor.client(client.client_id), ids=[record.id], reason=ROTATED, now=now
            )
        rotated, _ = await _issue_refresh_token(
            session,
            server,
            client,
            subject=record.subject,
            scopes=record.scopes,
            authorization_details=record.authorization_details,
            consent_id=record.consent_id,
            thumbprint=None,
            acr=record.acr,
            auth_time=record.auth_time,
            grant=grant,
            now=now,
            parent=record,
        )
    issued = await server.tokens.issue_access_token(
        session,
        client=client,
        grant_type=REFRESH_TOKEN,
        subject=record.subject,
        subject_kind=SubjectKind.CUSTOMER,
        scopes=scopes,
        certificate_thumbprint=thumbprint,
        consent_id=record.consent_id,
        authorization_details=record.authorization_details,
        acr=record.acr,
        auth_time=record.auth_time,
        grant_id=grant.id,
        parent_token_id=record.id,
        now=now,
    )
    return _response(issued, refresh_token=rotated)


async def _check_rotated(session: AsyncSession, server: OAuthServer, record: TokenRecord, now: datetime) -> bool:
    """A rotated public-client refresh token: fine inside the grace window; after it, a stolen copy ends the grant."""
    row = await repository.get(session, record.id)
    if row is None or row.revocation_reason != ROTATED or record.revoked_at is None:
        raise InvalidGrant("the refresh token is revoked or expired")
    if now - record.revoked_at <= timedelta(seconds=ROTATION_GRACE_S):
        return True
    if record.grant_id is not None:
        sessions = async_sessionmaker(session.bind, expire_on_commit=False)
        async with unit_of_work(sessions) as own:
            await server.tokens.revoke_tokens(
                own, Actor.client(record.client_id), grant_id=record.grant_id, reason="refresh_token_reused"
            )
    raise InvalidGrant("the refresh token was already rotated; every token of this grant is now revoked")
