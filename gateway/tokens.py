"""Access token verification at the resource server: RFC 9068 JWTs checked against the issuer's JWKS.

Signature, type, algorithm, issuer and audience are checked once per token and remembered (keyed by the
token's hash, until it expires); expiry, binding, revocation and scopes are the caller's, every request.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

ACCESS_TOKEN_TYP = "at+jwt"  # noqa: S105 (RFC 9068 s2.1)
# Only asymmetric algorithms, and only those the authorization server signs access tokens with (FAPI 2.0 SP
# s5.4.1; auth_server.oauth.jose.SERVER_SIGNING_ALGORITHMS).
ACCEPTED_ALGORITHMS = frozenset({"PS256", "ES256"})
CLOCK_SKEW_S = 5
# A JWKS refetch on an unknown `kid` happens at most this often: unknown kids cannot cause a fetch storm.
JWKS_MIN_REFRESH_S = 5.0
JWKS_MAX_AGE_S = 300.0
VERIFIED_CACHE_SIZE = 50_000

JwksSource = Callable[[], Awaitable[Mapping[str, Any]]]


class TokenRejected(Exception):
    """A refused token; `reason` is for logs and metrics only, `description` may be shown to the caller."""

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(description)
        self.reason = reason
        self.description = description


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """The claims of a token whose signature, type, issuer and audience have been checked."""

    claims: Mapping[str, Any]
    expires_at: int
    not_before: int

    def check_time(self, now: float) -> None:
        if now > self.expires_at + CLOCK_SKEW_S:
            raise TokenRejected("expired", "the access token has expired")
        if self.not_before > now + CLOCK_SKEW_S:
            raise TokenRejected("not_yet_valid", "the access token is not valid yet")


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeError) as exc:
        raise TokenRejected("malformed", "the access token is not a JWT") from exc
    if not isinstance(value, dict):
        raise TokenRejected("malformed", "the access token is not a JWT")
    return value


def _key_fits(key: Any, alg: str) -> bool:
    if alg == "PS256":
        return isinstance(key, RSAKey)
    return isinstance(key, ECKey) and key.curve_name == "P-256"


class JwksCache:
    """The issuer's public keys, refetched when stale or on an unknown `kid` (at most every few seconds)."""

    def __init__(self, source: JwksSource, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._source = source
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        async with self._lock:
            if self._clock() - self._fetched_at < JWKS_MIN_REFRESH_S:
                return
            self._fetched_at = self._clock()
            document = await self._source()
            keys = KeySet.import_key_set(dict(document)).keys  # type: ignore[arg-type]
            self._keys = {str(key.kid): key for key in keys if key.kid}

    async def key(self, kid: str) -> Any | None:
        if kid not in self._keys or self._clock() - self._fetched_at > JWKS_MAX_AGE_S:
            await self._refresh()
        return self._keys.get(kid)


class AccessTokenVerifier:
    """Verifies access tokens of one issuer for one audience, remembering tokens already verified."""

    def __init__(self, jwks: JwksCache, *, issuer: str, audience: str) -> None:
        self._jwks = jwks
        self._issuer = issuer
        self._audience = audience
        self._verified: dict[bytes, VerifiedToken] = {}

    async def verify(self, token: str, *, now: float | None = None) -> VerifiedToken:
        """The token's checked claims, or TokenRejected naming why not."""
        now = time.time() if now is None else now
        digest = hashlib.sha256(token.encode()).digest()
        verified = self._verified.get(digest)
        if verified is None:
            verified = await self._verify_signed(token)
            self._remember(digest, verified, now)
        verified.check_time(now)
        return verified

    def _remember(self, digest: bytes, verified: VerifiedToken, now: float) -> None:
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified = {key: value for key, value in self._verified.items() if value.expires_at > now}
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                self._verified.clear()
        self._verified[digest] = verified

    async def _verify_signed(self, token: str) -> VerifiedToken:
        try:
            header = dict(jws.extract_compact(token.encode("ascii")).headers())  # not trusted until verified
        except (JoseError, ValueError, UnicodeError) as exc:
            raise TokenRejected("malformed", "the access token is not a JWT") from exc
        alg = header.get("alg")
        if alg not in ACCEPTED_ALGORITHMS:
            raise TokenRejected("unsupported_alg", "the access token's algorithm is not accepted")
        if header.get("typ") != ACCESS_TOKEN_TYP:
            raise TokenRejected("wrong_type", "not an access token (RFC 9068)")
        kid = header.get("kid")
        key = await self._jwks.key(kid) if isinstance(kid, str) else None
        if key is None or not _key_fits(key, alg):
            raise TokenRejected("unknown_key", "the access token is not signed by the authorization server")
        try:
            verified = jws.deserialize_compact(token, key, algorithms=[alg])
        except (JoseError, ValueError) as exc:
            raise TokenRejected("bad_signature", "the access token's signature does not verify") from exc
        claims = _json_object(verified.payload)
        if claims.get("iss") != self._issuer:
            raise TokenRejected("wrong_issuer", "the access token is from another issuer")
        audience = claims.get("aud")
        if audience != self._audience and not (isinstance(audience, list) and self._audience in audience):
            raise TokenRejected("wrong_audience", "the access token is meant for another audience")
        expires_at, not_before = claims.get("exp"), claims.get("nbf", claims.get("iat", 0))
        if not isinstance(expires_at, int) or not isinstance(not_before, int) or not isinstance(claims.get("sub"), str):
            raise TokenRejected("malformed", "the access token lacks exp, iat or sub")
        return VerifiedToken(claims=claims, expires_at=expires_at, not_before=not_before)
