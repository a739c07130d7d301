"""The code flow's grants at the token endpoint: `authorization_code` and `refresh_token`, with ID tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.identities import service as identities_service
from auth_server.identities.errors import IdentityNotFound
from auth_server.identities.schemas import IdentityKind, IdentityStatus
from auth_server.oauth.authorize.codes import find_code
from auth_server.oauth.client_auth.service import AuthenticatedClient
from auth_server.oauth.clients.schemas import ClientRecord
from auth_server.oauth.errors import InvalidGrant, InvalidRequest, InvalidScope, UnauthorizedClient
from auth_server.oauth.events import TOKENS_TOPIC, report_oauth_change
from auth_server.oauth.grants import service as grants_service
from auth_server.oauth.jose import SERVER_SIGNING_ALGORITHMS, sign_jwt
from auth_server.oauth.server import OAuthServer
from auth_server.oauth.tokens import repository
from auth_server.oauth.tokens.models import SubjectKind, TokenKind
from auth_server.oauth.tokens.schemas import TokenRecord, TokenResponse
from auth_server.oauth.tokens.service import REFRESH_TOKEN_PREFIX, refresh_token_hash
from auth_server.sessions.service import ABSOLUTE_LIFETIME
from obank.actor import Actor
from obank.claims import Claim
from obank.unit_of_work import UnitOfWork

AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"  # noqa: S105
ID_TOKEN_LIFETIME_S = 300
REFRESH_TOKEN_LIFETIME_S = 90 * 24 * 3600
# A staff console stays signed in no longer than a staff member's browser session may.
STAFF_REFRESH_TOKEN_LIFETIME_S = int(ABSOLUTE_LIFETIME.total_seconds())
ROTATED = "rotated"
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
    uow: UnitOfWork, server: OAuthServer, code_id: uuid.UUID, grant_id: uuid.UUID | None, client_id: str
) -> None:
    """RFC 6749 s4.1.2: a code used twice revokes what it issued, in its own transaction (the request fails)."""
    async with uow.independent() as own:
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


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenBasis:
    """What every token of one authorization carries, whether issued for its code or for a refresh."""

    subject: str
    scopes: Sequence[str]
    authorization_details: list[dict[str, Any]] | None
    consent_id: str | None
    acr: str | None
    auth_time: datetime | None
    grant: grants_service.GrantRecord | None  # None for the staff console: staff grant nothing
    # The code every token of the authorization descends from: a replayed code or a reused rotated
    # refresh token revokes the whole line (RFC 6749 s4.1.2; OAuth 2.0 Security BCP s4.14.2).
    authorization_code_id: uuid.UUID | None


@dataclass(frozen=True, slots=True, kw_only=True)
class IdTokenRequest:
    """What only the code's own redemption knows: the nonce and the authentication methods."""

    nonce: str | None
    amr: Sequence[str]


async def _subject_kind(
    session: AsyncSession, client: ClientRecord, subject: str
) -> tuple[SubjectKind, dict[str, Any]]:
    """Whom the tokens speak for; a staff console's carry the staff member's roles as they stand now."""
    if client.identity_kind is not IdentityKind.STAFF:
        return SubjectKind.CUSTOMER, {}
    try:
        identity = await identities_service.get_identity(session, uuid.UUID(subject))
    except (ValueError, IdentityNotFound):
        raise InvalidGrant("the grant's staff login does not exist") from None
    # The authorization endpoint signs staff in only for staff clients; checked again where tokens are made.
    if identity.kind is not IdentityKind.STAFF or identity.status is not IdentityStatus.ACTIVE:
        raise InvalidGrant("the grant's staff login is not active")
    return SubjectKind.STAFF, {Claim.ROLES.value: sorted(role.value for role in identity.roles)}


async def _issue_refresh_token(
    uow: UnitOfWork,
    server: OAuthServer,
    client: ClientRecord,
    basis: TokenBasis,
    *,
    subject_kind: SubjectKind,
    thumbprint: str | None,
    now: datetime,
    parent: TokenRecord | None,
) -> str:
    """An opaque refresh token, stored only as a keyed hash, bound to the client, certificate and grant."""
    token = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = uuid.uuid4()
    lifetime = STAFF_REFRESH_TOKEN_LIFETIME_S if subject_kind is SubjectKind.STAFF else REFRESH_TOKEN_LIFETIME_S
    expires_at = now + timedelta(seconds=lifetime)
    if basis.grant is not None and basis.grant.expires_at is not None:
        expires_at = min(expires_at, basis.grant.expires_at)
    if parent is not None and parent.expires_at is not None:
        expires_at = min(expires_at, parent.expires_at)  # rotation never extends the original lifetime
    grant_id = None if basis.grant is None else basis.grant.id
    await repository.insert(
        uow.session,
        id=token_id,
        kind=TokenKind.REFRESH,
        client_id=client.client_id,
        subject=basis.subject,
        subject_kind=subject_kind,
        scopes=list(basis.scopes),
        authorization_details=basis.authorization_details,
        consent_id=basis.consent_id,
        certificate_thumbprint=thumbprint,
        acr=basis.acr,
        auth_time=basis.auth_time,
        grant_id=grant_id,
        authorization_code_id=basis.authorization_code_id,
        parent_token_id=None if parent is None else parent.id,
        token_hash=refresh_token_hash(server.keyring, token),
        issued_at=now,
        expires_at=expires_at,
    )
    report_oauth_change(
        uow,
        topic=TOKENS_TOPIC,
        action="refresh_token.issued",
        entity_type="refresh_token",
        entity_id=str(token_id),
        details={
            "token_id": str(token_id),
            "client_id": client.client_id,
            "subject": basis.subject,
            "subject_kind": subject_kind.value,
            "grant_id": None if grant_id is None else str(grant_id),
            "cnf_x5t_s256": thumbprint,
            "expires_at": expires_at.isoformat(),
        },
        actor=Actor.client(client.client_id),
    )
    return token


async def _issue_tokens(
    uow: UnitOfWork,
    server: OAuthServer,
    caller: AuthenticatedClient,
    basis: TokenBasis,
    *,
    grant_type: str,
    now: datetime,
    access_scopes: Sequence[str] | None = None,
    refresh: bool,
    parent: TokenRecord | None = None,
    id_token: IdTokenRequest | None = None,
) -> TokenResponse:
    """The token response of both grants: an access token, a refresh token when `refresh`, an ID token when asked.

    `access_scopes` narrows the access token only (RFC 6749 s6); `parent` is the refresh token presented.
    """
    client = caller.client
    thumbprint = _thumbprint(caller)
    subject_kind, extra_claims = await _subject_kind(uow.session, client, basis.subject)
    if subject_kind is SubjectKind.STAFF and thumbprint is None:
        # The gateway admits only certificate-bound tokens to admin routes: staff consoles run on devices
        # holding a client certificate, and a public client may bind its tokens to one (RFC 8705 s4).
        raise InvalidRequest("staff tokens are bound to the device's TLS client certificate: present it")
    if subject_kind is SubjectKind.CUSTOMER and basis.grant is not None and basis.grant.customer_id is not None:
        # `sub` is the sign-in identity; the APIs behind the gateway know the customer by this id.
        extra_claims = {**extra_claims, Claim.CUSTOMER_ID.value: str(basis.grant.customer_id)}
    refresh_token: str | None = None
    if refresh:
        refresh_token = await _issue_refresh_token(
            uow, server, client, basis, subject_kind=subject_kind, thumbprint=thumbprint, now=now, parent=parent
        )
    issued = await server.tokens.issue_access_token(
        uow,
        client=client,
        grant_type=grant_type,
        subject=basis.subject,
        subject_kind=subject_kind,
        scopes=basis.scopes if access_scopes is None else access_scopes,
        certificate_thumbprint=thumbprint,
        consent_id=basis.consent_id,
        authorization_details=basis.authorization_details,
        acr=basis.acr,
        auth_time=basis.auth_time,
        grant_id=None if basis.grant is None else basis.grant.id,
        authorization_code_id=basis.authorization_code_id,
        parent_token_id=None if parent is None else parent.id,
        extra_claims=extra_claims,
        now=now,
    )
    signed_id_token: str | None = None
    if id_token is not None and "openid" in basis.scopes:
        signed_id_token = await _id_token(
            server,
            client,
            subject=basis.subject,
            nonce=id_token.nonce,
            acr=basis.acr,
            amr=id_token.amr,
            auth_time=basis.auth_time,
            consent_id=basis.consent_id,
            now=now,
        )
    return TokenResponse(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        scope=" ".join(issued.scopes) or None,
        authorization_details=issued.authorization_details,
        refresh_token=refresh_token,
        id_token=signed_id_token,
    )


async def _active_grant(
    session: AsyncSession,
    server: OAuthServer,
    client: ClientRecord,
    grant_id: uuid.UUID | None,
    now: datetime,
    what: str,
) -> grants_service.GrantRecord | None:
    """The customer's grant behind a code or refresh token, still active; staff console tokens have none.

    Its Open Banking consent may have ended in core banking before the event reached this server's consumer;
    the ending transaction wrote the consent's deny-list entry, so nothing is issued under it from then on.
    """
    if grant_id is None:
        if client.identity_kind is IdentityKind.STAFF:
            return None
        raise InvalidGrant(f"the {what} is invalid")
    grant = await grants_service.get_grant(session, grant_id)
    if not grant.is_active(now):
        raise InvalidGrant(f"the grant behind this {what} is no longer active")
    if await server.tokens.revocations.first_revoked(grants_service.grant_denials(grant.id, grant.consent_id)):
        raise InvalidGrant(f"the grant behind this {what} is no longer active")
    return grant


async def authorization_code(
    uow: UnitOfWork, server: OAuthServer, caller: AuthenticatedClient, form: dict[str, str]
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
    session = uow.session
    row = await find_code(uow, code)
    # A code issued to another client reads exactly like an unknown one (RFC 6749 s4.1.3).
    if row is None or row.client_id != client.client_id:
        raise InvalidGrant("the authorization code is invalid")
    if row.used_at is not None:
        await _revoke_replayed(uow, server, row.id, row.grant_id, client.client_id)
        raise InvalidGrant("the authorization code was already used; the tokens it issued are revoked")
    if row.expires_at <= now:
        raise InvalidGrant("the authorization code has expired")
    if redirect_uri != row.redirect_uri:
        raise InvalidGrant("redirect_uri does not match the authorization request (RFC 6749 s4.1.3)")
    if not CODE_VERIFIER.match(verifier) or not _pkce_matches(verifier, row.code_challenge):
        raise InvalidGrant("code_verifier does not match the code challenge (RFC 7636 s4.6)")
    row.used_at = now
    await session.flush()
    basis = TokenBasis(
        subject=row.subject,
        scopes=row.scopes,
        authorization_details=row.authorization_details,
        consent_id=row.consent_id,
        acr=row.acr,
        auth_time=row.auth_time,
        grant=await _active_grant(session, server, client, row.grant_id, now, "code"),
        authorization_code_id=row.id,
    )
    return await _issue_tokens(
        uow,
        server,
        caller,
        basis,
        grant_type=AUTHORIZATION_CODE,
        now=now,
        refresh=REFRESH_TOKEN in client.grant_types,
        id_token=IdTokenRequest(nonce=row.nonce, amr=row.amr),
    )


async def refresh_token(
    uow: UnitOfWork, server: OAuthServer, caller: AuthenticatedClient, form: dict[str, str]
) -> TokenResponse:
    """RFC 6749 s6: not rotated for confidential clients (FAPI 2.0 SP s5.3.2.1), bound to client and certificate."""
    client = caller.client
    if REFRESH_TOKEN not in client.grant_types:
        raise UnauthorizedClient("this client may not use the refresh_token grant")
    presented = form.get("refresh_token")
    if presented is None:
        raise InvalidRequest("refresh_token is required")
    now = datetime.now(UTC)
    session = uow.session
    found = await server.tokens.find_token(session, presented)
    if found is None or found.kind is not TokenKind.REFRESH or found.client_id != client.client_id:
        raise InvalidGrant("the refresh token is invalid")
    record: TokenRecord = found
    rotated_within_grace = False
    if not record.is_active(now):
        if client.is_confidential or record.revoked_at is None:
            raise InvalidGrant("the refresh token is revoked or expired")
        rotated_within_grace = await _check_rotated(uow, server, record, now)
    thumbprint = _thumbprint(caller)
    if record.certificate_thumbprint is not None and thumbprint != record.certificate_thumbprint:
        raise InvalidGrant("the refresh token is bound to another certificate (RFC 8705 s4)")
    if (record.subject_kind is SubjectKind.STAFF) != (client.identity_kind is IdentityKind.STAFF):
        raise InvalidGrant("the refresh token is invalid")
    grant = await _active_grant(session, server, client, record.grant_id, now, "refresh token")
    requested = list(dict.fromkeys((form.get("scope") or "").split()))
    if any(s not in record.scopes for s in requested):
        raise InvalidScope("a refreshed token cannot have scopes beyond the original grant (RFC 6749 s6)")
    if not client.is_confidential and not rotated_within_grace:
        # Public clients: a new refresh token each time (OAuth 2.0 Security BCP s4.14.2); the old one
        # stays usable for a short grace window (a lost response), and its reuse after that ends the grant.
        await server.tokens.revoke_tokens(uow, Actor.client(client.client_id), ids=[record.id], reason=ROTATED, now=now)
    basis = TokenBasis(
        subject=record.subject,
        scopes=record.scopes,
        authorization_details=record.authorization_details,
        consent_id=record.consent_id,
        acr=record.acr,
        auth_time=record.auth_time,
        grant=grant,
        authorization_code_id=record.authorization_code_id,
    )
    return await _issue_tokens(
        uow,
        server,
        caller,
        basis,
        grant_type=REFRESH_TOKEN,
        now=now,
        access_scopes=requested or None,
        refresh=not client.is_confidential,
        parent=record,
    )


async def _check_rotated(uow: UnitOfWork, server: OAuthServer, record: TokenRecord, now: datetime) -> bool:
    """A rotated public-client refresh token: fine inside the grace window; after it, a stolen copy ends the grant."""
    row = await repository.get(uow.session, record.id)
    if row is None or row.revocation_reason != ROTATED or record.revoked_at is None:
        raise InvalidGrant("the refresh token is revoked or expired")
    if record.authorization_code_id is not None and await repository.refresh_line_revoked(
        uow.session, record.authorization_code_id, except_reason=ROTATED
    ):
        # The grace covers a lost response only: a line revoked since (its sign-in session ended, say) stays dead.
        raise InvalidGrant("the refresh token is revoked or expired")
    if now - record.revoked_at <= timedelta(seconds=server.config.refresh_token_rotation_grace_s):
        return True
    async with uow.independent() as own:
        await server.tokens.revoke_tokens(
            own,
            Actor.client(record.client_id),
            grant_id=record.grant_id,
            authorization_code_id=record.authorization_code_id,
            reason="refresh_token_reused",
        )
    raise InvalidGrant("the refresh token was already rotated; every token of this grant is now revoked")
