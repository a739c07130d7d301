"""The verified caller, carried from the gateway to upstream apps as a short-lived signed internal JWT."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from obank.internal_keys import (
    new_signing_key,
    parse_signing_key,
    parse_verification_keys,
    public_key,
    with_kid,
)
from obank.revocation import RevocationList, denials_of
from obank.settings import Settings

PRINCIPAL_HEADER = "x-obank-principal"
INTERNAL_ISSUER = "urn:obank:gateway"
ASSERTION_LIFETIME_S = 60
DEV_KEY_FILE = "internal-signing-key.json"
ALGORITHM = "ES256"

# `service`: one of the platform's own processes calling another (never minted from an access token).
PrincipalKind = Literal["customer", "staff", "client", "service"]


class InvalidPrincipalAssertionError(Exception):
    """The internal assertion is missing, forged, expired or meant for another service."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as verified by the gateway: subject, client, scopes, consent, binding, strength."""

    subject: str
    kind: PrincipalKind
    interaction_id: str
    client_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    roles: frozenset[str] = field(default_factory=frozenset)
    consent_id: str | None = None
    certificate_thumbprint: str | None = None
    acr: str | None = None
    session_id: str | None = None
    token_id: str | None = None
    grant_id: str | None = None
    # When the person last signed in (the access token's `auth_time`, seconds since the epoch).
    auth_time: int | None = None

    def to_claims(self) -> dict[str, Any]:
        return {
            "sub": self.subject,
            "kind": self.kind,
            "interaction_id": self.interaction_id,
            "client_id": self.client_id,
            "scope": " ".join(sorted(self.scopes)),
            "roles": sorted(self.roles),
            "consent_id": self.consent_id,
            "cnf_x5t_s256": self.certificate_thumbprint,
            "acr": self.acr,
            "sid": self.session_id,
            "token_id": self.token_id,
            "grant_id": self.grant_id,
            "auth_time": self.auth_time,
        }

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        kind = claims.get("kind")
        if kind not in ("customer", "staff", "client", "service") or not isinstance(claims.get("sub"), str):
            raise InvalidPrincipalAssertionError("assertion lacks a subject or kind")
        return cls(
            subject=claims["sub"],
            kind=kind,
            interaction_id=str(claims.get("interaction_id") or ""),
            client_id=claims.get("client_id"),
            scopes=frozenset(str(claims.get("scope") or "").split()),
            roles=frozenset(claims.get("roles") or ()),
            consent_id=claims.get("consent_id"),
            certificate_thumbprint=claims.get("cnf_x5t_s256"),
            acr=claims.get("acr"),
            session_id=claims.get("sid"),
            token_id=claims.get("token_id"),
            grant_id=claims.get("grant_id"),
            auth_time=claims["auth_time"] if type(claims.get("auth_time")) is int else None,
        )


class InternalAssertions:
    """Signs (gateway side, with the private key) and verifies (service side, with public keys by kid) internal
    principal assertions; a verifier may hold several public keys while a new signing key is rolled out."""

    def __init__(self, signing_key: ECKey | None, verification_keys: KeySet | None = None) -> None:
        self._signing_key = with_kid(signing_key) if signing_key is not None else None
        public = [public_key(self._signing_key)] if self._signing_key is not None else []
        held = list(verification_keys.keys) if verification_keys is not None else []
        kids = {key.kid for key in held}
        self._verification_keys = KeySet([*held, *(key for key in public if key.kid not in kids)])
        if not self._verification_keys.keys:
            raise ValueError("internal assertions need a signing key or verification keys")

    @property
    def verification_kids(self) -> list[str]:
        return [str(key.kid) for key in self._verification_keys.keys]

    def sign(self, principal: Principal, audience: str) -> str:
        if self._signing_key is None:
            raise RuntimeError("this process holds no internal signing key (OBANK_INTERNAL_SIGNING_KEY)")
        now = int(time.time())
        claims = {
            **principal.to_claims(),
            "iss": INTERNAL_ISSUER,
            "aud": audience,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_S,
            "jti": str(uuid.uuid4()),
        }
        header = {"alg": ALGORITHM, "typ": "obank-principal+jwt", "kid": self._signing_key.kid}
        return jwt.encode(header, claims, self._signing_key)

    def verify(self, assertion: str, audience: str) -> Principal:
        try:
            token = jwt.decode(assertion, self._verification_keys, algorithms=[ALGORITHM])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": INTERNAL_ISSUER},
                aud={"essential": True, "value": audience},
                exp={"essential": True},
                leeway=5,
            ).validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise InvalidPrincipalAssertionError("internal assertion refused") from exc
        if token.header.get("typ") != "obank-principal+jwt":
            raise InvalidPrincipalAssertionError("not an internal principal assertion")
        return Principal.from_claims(dict(token.claims))


def load_internal_assertions(settings: Settings) -> InternalAssertions:
    """This process's internal keys: the signing key (configured, or outside production generated into the data
    dir unless only verification keys are given) and the verification keys (configured, plus the signing key's
    public half, so a process verifies what it signs in-process)."""
    verification = (
        parse_verification_keys(settings.internal_verification_keys) if settings.internal_verification_keys else None
    )
    if settings.internal_signing_key:
        return InternalAssertions(parse_signing_key(settings.internal_signing_key), verification)
    if verification is not None:
        return InternalAssertions(None, verification)  # an upstream: public keys only
    if settings.is_production:
        raise RuntimeError("OBANK_INTERNAL_SIGNING_KEY or OBANK_INTERNAL_VERIFICATION_KEYS is required in production")
    path: Path = settings.data_dir / DEV_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(new_signing_key().as_dict(private=True), handle)
    return InternalAssertions(ECKey.import_key(json.loads(path.read_text())))


async def _verified_principal(request: Request) -> Principal:
    assertions: InternalAssertions = request.app.state.internal_assertions
    audience: str = request.app.state.service_name
    assertion = request.headers.get(PRINCIPAL_HEADER)
    if not assertion:
        raise InvalidPrincipalAssertionError("no internal assertion")
    principal = assertions.verify(assertion, audience)
    if principal.token_id is not None:
        # Defence in depth: this process's own copy of the deny-list, not only the gateway's word (which
        # already asked Redis: no second round trip per request).
        revocations: RevocationList = request.app.state.platform.revocations
        if await revocations.first_revoked_here(
            denials_of(principal.token_id, principal.grant_id, principal.consent_id)
        ):
            raise InvalidPrincipalAssertionError("the authorisation behind this request has been withdrawn")
    return principal


PrincipalDep = Annotated[Principal, Depends(_verified_principal)]
