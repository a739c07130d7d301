"""Issue RFC 9068 access tokens bound to the client certificate; introspect (RFC 7662) and revoke (RFC 7009)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.oauth.client_auth.service import AuthenticatedClient
from auth_server.oauth.clients.schemas import ClientRecord
from auth_server.oauth.config import CLOCK_SKEW_S, OAuthConfig
from auth_server.oauth.errors import InvalidJWT, InvalidRequest, UnauthorizedClient
from auth_server.oauth.events import TOKENS_TOPIC, report_oauth_change
from auth_server.oauth.jose import SERVER_SIGNING_ALGORITHMS, sign_jwt, unverified_header, verify_jwt
from auth_server.oauth.keys.service import SigningKeys
from auth_server.oauth.tokens import repository
from auth_server.oauth.tokens.group_commit import GroupCommit
from auth_server.oauth.tokens.models import SubjectKind, TokenKind
from auth_server.oauth.tokens.schemas import IssuedAccessToken, TokenRecord
from obank import metrics
from obank.actor import Actor
from obank.claims import PrivateClaims
from obank.correlation import current_correlation_id
from obank.crypto import KeyRing, lookup_hashes
from obank.revocation import RevocationList, token_denial
from obank.runtime import Platform
from obank.unit_of_work import UnitOfWork

ACCESS_TOKEN_TYP = "at+jwt"  # RFC 9068 s2.1  # noqa: S105
REFRESH_TOKEN_PREFIX = "obrt_"  # noqa: S105
REFRESH_TOKEN_PURPOSE = "oauth-refresh-token"  # noqa: S105
# Token revocations on a topic of their own: their consumers (notifications, investigations) need not read
# every `token.issued` event of the tokens topic.
TOKEN_REVOCATIONS_TOPIC = "auth_server.token_revocations"  # noqa: S105
TOKEN_ISSUED = "token.issued"  # noqa: S105 (an action, not a secret)


def jti_denial(jti: uuid.UUID | str) -> str:
    """The deny-list entry the gateway checks for an access token's `jti`."""
    return token_denial(jti)


def refresh_token_hash(keyring: KeyRing, token: str) -> bytes:
    """The keyed hash a refresh token is stored as (under the active key)."""
    return keyring.keyed_hash(REFRESH_TOKEN_PURPOSE, token.encode())


class AccessTokenRequest(TypedDict, total=False):
    """What an access token is issued for: `TokenService.sign_access_token`'s parameters."""

    client: Required[ClientRecord]
    grant_type: Required[str]
    subject: Required[str]
    subject_kind: Required[SubjectKind]
    scopes: Required[Sequence[str]]
    certificate_thumbprint: Required[str | None]
    consent_id: str | None
    authorization_details: list[dict[str, Any]] | None
    acr: str | None
    auth_time: datetime | None
    grant_id: uuid.UUID | None
    authorization_code_id: uuid.UUID | None
    parent_token_id: uuid.UUID | None
    extra_claims: dict[str, Any] | None
    actor: Actor | None
    now: datetime | None


@dataclass(frozen=True, slots=True)
class PendingAccessToken:
    """A signed access token whose row, event and audit record are still to be written."""

    issued: IssuedAccessToken
    row: dict[str, Any]
    event: dict[str, Any]
    actor: Actor
    correlation_id: str


def _report_issued(uow: UnitOfWork, token: PendingAccessToken) -> None:
    report_oauth_change(
        uow,
        topic=TOKENS_TOPIC,
        action=TOKEN_ISSUED,
        entity_type="access_token",
        entity_id=token.event["jti"],
        details=token.event,
        actor=token.actor,
        correlation_id=token.correlation_id,
    )


async def record_access_tokens(uow: UnitOfWork, tokens: Sequence[PendingAccessToken]) -> None:
    """A group commit's write: many requests' tokens in one INSERT, each reported with its own request's id."""
    await repository.insert_many(uow.session, [token.row for token in tokens])
    for token in tokens:
        _report_issued(uow, token)


@dataclass(frozen=True, slots=True)
class TokenService:
    """Signs, finds and revokes tokens; one per process (it holds the signing key cache).

    Revocations go to the gateway's deny-list (`revocations`) inside the revoking transaction, before
    its commit: a failed commit leaves an extra denial, never a missing one.
    """

    config: OAuthConfig
    keys: SigningKeys
    keyring: KeyRing
    revocations: RevocationList
    group_commit: GroupCommit[PendingAccessToken]

    @classmethod
    def build(cls, platform: Platform, config: OAuthConfig, keys: SigningKeys) -> TokenService:
        """The service over `platform`: its deny-list, and a group commit on its side pool (never the requests')."""
        group_commit = GroupCommit(platform.side_engine, platform.keyring, record_access_tokens)
        return cls(config, keys, platform.keyring, platform.revocations, group_commit)

    async def issue_access_token(self, uow: UnitOfWork, **request: Unpack[AccessTokenRequest]) -> IssuedAccessToken:
        """Sign an access token, store it, and report its event and audit record."""
        pending = await self.sign_access_token(**request)
        await repository.insert_many(uow.session, [pending.row])
        _report_issued(uow, pending)
        return pending.issued

    async def issue_access_token_in_group(self, **request: Unpack[AccessTokenRequest]) -> IssuedAccessToken:
        """Sign an access token and store it, its audit record and event in a group commit (no other state)."""
        pending = await self.sign_access_token(**request)
        await self.group_commit.submit(pending)
        return pending.issued

    async def sign_access_token(
        self,
        *,
        client: ClientRecord,
        grant_type: str,
        subject: str,
        subject_kind: SubjectKind,
        scopes: Sequence[str],
        certificate_thumbprint: str | None,
        consent_id: str | None = None,
        authorization_details: list[dict[str, Any]] | None = None,
        acr: str | None = None,
        auth_time: datetime | None = None,
        grant_id: uuid.UUID | None = None,
        authorization_code_id: uuid.UUID | None = None,
        parent_token_id: uuid.UUID | None = None,
        extra_claims: dict[str, Any] | None = None,
        actor: Actor | None = None,
        now: datetime | None = None,
    ) -> PendingAccessToken:
        """A signed RFC 9068 access token and what recording it writes; nothing is stored yet."""
        if client.is_confidential and certificate_thumbprint is None:
            # FAPI 2.0 SP s5.3.2.1: only sender-constrained access tokens for confidential clients.
            raise InvalidRequest("a TLS client certificate is required: access tokens are bound to it (RFC 8705 s3)")
        now = (now or datetime.now(UTC)).replace(microsecond=0)
        expires_at = now + timedelta(seconds=self.config.access_token_lifetime_s)
        jti = uuid.uuid4()
        alg = client.access_token_signed_response_alg
        if alg not in SERVER_SIGNING_ALGORITHMS:
            alg = SERVER_SIGNING_ALGORITHMS[0]
        kid, key = await self.keys.signing_key(alg)
        claims: dict[str, Any] = {
            **(extra_claims or {}),
            "iss": self.config.issuer,
            "sub": subject,
            "aud": self.config.resource_audience,
            "client_id": client.client_id,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": str(jti),
        }
        # obank's private claims, as the gateway reads them (`obank.claims`).
        private = PrivateClaims(
            subject_kind=subject_kind,
            first_party=client.first_party,
            grant_id=None if grant_id is None else str(grant_id),
            consent_id=consent_id,
        )
        claims |= private.to_claims()
        if scopes:
            claims["scope"] = " ".join(scopes)
        if certificate_thumbprint is not None:
            claims["cnf"] = {"x5t#S256": certificate_thumbprint}  # RFC 8705 s3.1
        if authorization_details:
            claims["authorization_details"] = authorization_details  # RFC 9396 s9.1
        if acr is not None:
            claims["acr"] = acr
        if auth_time is not None:
            claims["auth_time"] = int(auth_time.timestamp())
        token = sign_jwt({"typ": ACCESS_TOKEN_TYP, "alg": alg, "kid": kid}, claims, key)
        metrics.token_issued(grant_type)
        row: dict[str, Any] = {
            "id": jti,
            "kind": TokenKind.ACCESS,
            "client_id": client.client_id,
            "subject": subject,
            "subject_kind": subject_kind,
            "scopes": list(scopes),
            "authorization_details": authorization_details,
            "consent_id": consent_id,
            "certificate_thumbprint": certificate_thumbprint,
            "signing_kid": kid,
            "acr": acr,
            "auth_time": auth_time,
            "grant_id": grant_id,
            "authorization_code_id": authorization_code_id,
            "parent_token_id": parent_token_id,
            "issued_at": now,
            "expires_at": expires_at,
        }
        event = {
            "jti": str(jti),
            "grant_type": grant_type,
            "client_id": client.client_id,
            "subject": subject,
            "subject_kind": subject_kind.value,
            "scope": " ".join(scopes),
            "consent_id": consent_id,
            "cnf_x5t_s256": certificate_thumbprint,
            "grant_id": None if grant_id is None else str(grant_id),
            "expires_at": expires_at.isoformat(),
        }
        issued = IssuedAccessToken(
            access_token=token,
            jti=jti,
            issued_at=now,
            expires_at=expires_at,
            expires_in=self.config.access_token_lifetime_s,
            scopes=tuple(scopes),
            authorization_details=authorization_details,
            certificate_thumbprint=certificate_thumbprint,
        )
        return PendingAccessToken(issued, row, event, actor or Actor.client(client.client_id), current_correlation_id())

    async def verify_access_token(self, token: str) -> dict[str, Any]:
        """The claims of an access token this server signed (signature and type only: expiry is the caller's)."""
        kid = unverified_header(token).get("kid")
        keys = await self.keys.verification_keys(kid if isinstance(kid, str) else None)
        header, claims = verify_jwt(token, keys, SERVER_SIGNING_ALGORITHMS)
        if header.get("typ") != ACCESS_TOKEN_TYP or claims.get("iss") != self.config.issuer:
            raise InvalidJWT("not an access token of this issuer")
        return claims

    async def find_token(self, session: AsyncSession, token: str) -> TokenRecord | None:
        """The stored token a presented access token (JWT) or refresh token (opaque) stands for."""
        if token.count(".") == 2:
            try:
                claims = await self.verify_access_token(token)
                row = await repository.get(session, uuid.UUID(str(claims.get("jti"))))
            except (InvalidJWT, ValueError):
                return None
            return None if row is None or row.kind is not TokenKind.ACCESS else TokenRecord.from_model(row)
        if token.startswith(REFRESH_TOKEN_PREFIX):
            row = await repository.by_hash(session, lookup_hashes(self.keyring, REFRESH_TOKEN_PURPOSE, token.encode()))
            return None if row is None or row.kind is not TokenKind.REFRESH else TokenRecord.from_model(row)
        return None

    async def introspect(
        self, session: AsyncSession, caller: AuthenticatedClient, token: str, *, now: datetime | None = None
    ) -> dict[str, Any]:
        """RFC 7662 s2.2: active only for a live token issued to the caller; nothing about anyone else's."""
        now = now or datetime.now(UTC)
        record = await self.find_token(session, token)
        if record is None or record.client_id != caller.client_id or not record.is_active(now):
            return {"active": False}
        body: dict[str, Any] = {
            "active": True,
            "iss": self.config.issuer,
            "client_id": record.client_id,
            "sub": record.subject,
            "iat": int(record.issued_at.timestamp()),
            "token_type": "Bearer" if record.kind is TokenKind.ACCESS else "refresh_token",
            "jti": str(record.id),
        }
        if record.kind is TokenKind.ACCESS:
            body["aud"] = self.config.resource_audience
        optional: dict[str, Any] = {
            "scope": " ".join(record.scopes) or None,
            "exp": None if record.expires_at is None else int(record.expires_at.timestamp()),
            "cnf": None if record.certificate_thumbprint is None else {"x5t#S256": record.certificate_thumbprint},
            "consent_id": record.consent_id,
            "authorization_details": record.authorization_details,
            "acr": record.acr,
            "auth_time": None if record.auth_time is None else int(record.auth_time.timestamp()),
        }
        body.update({name: value for name, value in optional.items() if value is not None})
        return body

    async def revoke(
        self, uow: UnitOfWork, caller: AuthenticatedClient, token: str, *, now: datetime | None = None
    ) -> list[uuid.UUID]:
        """RFC 7009 s2.1: revoke the caller's token (a refresh token takes its access tokens along)."""
        now = now or datetime.now(UTC)
        record = await self.find_token(uow.session, token)
        if record is None:
            return []  # RFC 7009 s2.2: an invalid or unknown token is not an error
        if record.client_id != caller.client_id:
            raise UnauthorizedClient("the token was not issued to this client")
        return await self.revoke_tokens(
            uow,
            Actor.client(caller.client_id),
            ids=[record.id],
            parent_token_ids=[record.id] if record.kind is TokenKind.REFRESH else (),
            reason="revoked_by_client",
            now=now,
        )

    async def revoke_tokens(
        self,
        uow: UnitOfWork,
        actor: Actor,
        *,
        ids: Sequence[uuid.UUID] = (),
        grant_id: uuid.UUID | None = None,
        authorization_code_id: uuid.UUID | None = None,
        parent_token_ids: Sequence[uuid.UUID] = (),
        reason: str,
        now: datetime | None = None,
    ) -> list[uuid.UUID]:
        """Revoke live tokens by id, grant, authorization code or parent; deny their jtis at the gateway."""
        return await revoke_tokens(
            uow,
            self.revocations,
            actor,
            ids=ids,
            grant_id=grant_id,
            authorization_code_id=authorization_code_id,
            parent_token_ids=parent_token_ids,
            reason=reason,
            now=now,
        )


async def revoke_tokens(
    uow: UnitOfWork,
    revocations: RevocationList,
    actor: Actor,
    *,
    ids: Sequence[uuid.UUID] = (),
    grant_id: uuid.UUID | None = None,
    authorization_code_id: uuid.UUID | None = None,
    parent_token_ids: Sequence[uuid.UUID] = (),
    reason: str,
    now: datetime | None = None,
) -> list[uuid.UUID]:
    """Revoke live tokens by id, grant, authorization code or parent; deny their jtis at the gateway.

    Needs no signing key: event consumers that end grants revoke tokens with the process's deny-list alone.
    """
    now = now or datetime.now(UTC)
    revoked = await repository.revoke(
        uow.session,
        ids=ids,
        grant_id=grant_id,
        authorization_code_id=authorization_code_id,
        parent_token_ids=parent_token_ids,
        reason=reason,
        now=now,
    )
    if not revoked:
        return []
    access: dict[uuid.UUID, datetime] = {}
    for token in revoked:
        if token.kind is TokenKind.ACCESS and token.expires_at is not None:
            access[token.id] = token.expires_at
    denied_until: datetime | None = None
    if access:
        # Until the last of them expires, with clock skew to spare.
        denied_until = max(access.values()) + timedelta(seconds=CLOCK_SKEW_S)
        await revocations.revoke(uow.session, [jti_denial(jti) for jti in access], denied_until)
    report_oauth_change(
        uow,
        topic=TOKEN_REVOCATIONS_TOPIC,
        action="token.revoked",
        entity_type="tokens",
        entity_id=str(revoked[0].id),
        details={
            "jtis": [str(token.id) for token in revoked],
            "access_token_jtis": [str(jti) for jti in access],
            "denied_until": None if denied_until is None else denied_until.isoformat(),
            "reason": reason,
        },
        actor=actor,
    )
    return [token.id for token in revoked]
