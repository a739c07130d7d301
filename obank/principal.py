"""The verified caller, carried from the gateway to upstream apps: across HTTP as a short-lived signed internal JWT,
to an app in the gateway's own process as the object itself in the ASGI scope (`HandedPrincipal`)."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from fastapi import Depends, Request
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
# The ASGI scope key under which a gateway hands the principal to an upstream app in its own process.
HANDED_PRINCIPAL = "obank.principal"
INTERNAL_ISSUER = "urn:obank:gateway"
ASSERTION_LIFETIME_S = 60
ASSERTION_TYP = "obank-principal+jwt"
CLOCK_LEEWAY_S = 5
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
        self._trusted_kids = frozenset(self.verification_kids)
        self._private_key = self._signing_key.private_key if self._signing_key is not None else None
        self._public_keys: dict[Any, ec.EllipticCurvePublicKey] = {
            key.kid: key.public_key for key in self._verification_keys.keys if isinstance(key, ECKey)
        }
        # An assertion without a `kid` is checked against the one key there is, never against several.
        self._only_key = next(iter(self._public_keys.values())) if len(self._public_keys) == 1 else None

    @property
    def verification_kids(self) -> list[str]:
        return [str(key.kid) for key in self._verification_keys.keys]

    @property
    def signing_kid(self) -> str | None:
        return None if self._signing_key is None else str(self._signing_key.kid)

    def trusts(self, signer: InternalAssertions) -> bool:
        """Whether an assertion `signer` would sign verifies here (its key is one of this verifier's)."""
        kid = signer.signing_kid
        return kid is not None and kid in self._trusted_kids

    def sign(self, principal: Principal, audience: str) -> str:
        if self._signing_key is None or self._private_key is None:
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
        header = {"alg": ALGORITHM, "typ": ASSERTION_TYP, "kid": self._signing_key.kid}
        signing_input = _b64(_json(header)) + b"." + _b64(_json(claims))
        r, s = decode_dss_signature(self._private_key.sign(signing_input, _ES256))
        return (signing_input + b"." + _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))).decode("ascii")

    def verify(self, assertion: str, audience: str) -> Principal:
        """The principal of a compact JWS this verifier's keys signed for `audience`, unexpired; else refused.

        ES256 checked with `cryptography` directly rather than through a general JOSE library, whose
        per-call registry and claims machinery cost as much as the signature check: one fixed algorithm,
        one fixed type, keys looked up by `kid`.
        """
        try:
            encoded_header, encoded_claims, encoded_signature = assertion.encode("ascii").split(b".")
            header = json.loads(_unb64(encoded_header))
            if not isinstance(header, dict) or header.get("alg") != ALGORITHM:
                raise ValueError("not ES256")
            key = self._public_keys.get(header.get("kid")) if "kid" in header else self._only_key
            signature = _unb64(encoded_signature)
            if key is None or len(signature) != 64:
                raise ValueError("unknown key or malformed signature")
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            key.verify(encode_dss_signature(r, s), encoded_header + b"." + encoded_claims, _ES256)
            claims = json.loads(_unb64(encoded_claims))
        except (InvalidSignature, ValueError, UnicodeError, TypeError, RecursionError) as exc:
            raise InvalidPrincipalAssertionError("internal assertion refused") from exc
        if header.get("typ") != ASSERTION_TYP:
            raise InvalidPrincipalAssertionError("not an internal principal assertion")
        if not isinstance(claims, dict) or not _valid_claims(claims, audience, time.time()):
            raise InvalidPrincipalAssertionError("internal assertion refused")
        return Principal.from_claims(claims)


@dataclass(frozen=True, slots=True)
class HandedPrincipal:
    """A principal the gateway admitted, handed to an upstream app in the same process inside the ASGI scope.

    A signature proves nothing there: the scope is built by the server from the wire, so no caller can place
    an object in it, and only code of this process could. So an in-process upstream takes the principal as
    it is (same audience and trusted key checks, same deny-list check), and the crypto is spent only where a
    request crosses HTTP: an HTTP upstream proxy signs `assertion()` into the `x-obank-principal` header.
    """

    principal: Principal
    audience: str
    signer: InternalAssertions

    def assertion(self) -> str:
        """The signed internal assertion, for an upstream across HTTP."""
        return self.signer.sign(self.principal, self.audience)


_ES256 = ec.ECDSA(hashes.SHA256())


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _unb64(data: bytes) -> bytes:
    if b"=" in data:
        raise ValueError("padded base64url")
    return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))


def _valid_claims(claims: dict[str, Any], audience: str, now: float) -> bool:
    """Issued by the gateway for `audience` and not expired (5 s leeway), as RFC 7519 s4.1 reads the claims."""
    aud, exp, nbf = claims.get("aud"), claims.get("exp"), claims.get("nbf")
    return (
        claims.get("iss") == INTERNAL_ISSUER
        and (aud == audience or (isinstance(aud, list) and audience in aud))
        and type(exp) is int
        and now <= exp + CLOCK_LEEWAY_S
        and (nbf is None or (type(nbf) is int and nbf <= now + CLOCK_LEEWAY_S))
    )


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


def _handed_principal(handed: HandedPrincipal, assertions: InternalAssertions, audience: str) -> Principal:
    if handed.audience != audience:
        raise InvalidPrincipalAssertionError("internal assertion refused")
    if not assertions.trusts(handed.signer):
        raise InvalidPrincipalAssertionError("internal assertion refused")
    return handed.principal


async def _verified_principal(request: Request) -> Principal:
    assertions: InternalAssertions = request.app.state.internal_assertions
    audience: str = request.app.state.service_name
    handed = request.scope.get(HANDED_PRINCIPAL)
    if type(handed) is HandedPrincipal:
        principal = _handed_principal(handed, assertions, audience)
    else:
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
