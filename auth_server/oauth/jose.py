"""JOSE at the edge: every JWT is verified with joserfc against an explicit algorithm list, never a default."""

from __future__ import annotations

import base64
import binascii
import json
import warnings
from collections.abc import Collection, Mapping
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey

from auth_server.oauth.errors import InvalidJWT

# FAPI 2.0 Security Profile s5.4.1: PS256, ES256 or EdDSA (Ed25519) only; never RS256, HS256 or none.
SIGNING_ALGORITHMS: tuple[str, ...] = ("PS256", "ES256", "EdDSA")
# What this server signs its own tokens with (RFC 9068 access tokens, ID tokens).
SERVER_SIGNING_ALGORITHMS: tuple[str, ...] = ("ES256", "PS256")
MIN_RSA_BITS = 2048  # FAPI 2.0 SP s5.4.1

# RFC 9864 deprecates the polymorphic "EdDSA" name; FAPI 2.0 still names it, so we accept it knowingly.
warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)

_KEY_TYPES = {"PS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}
_CURVES = {"ES256": "P-256", "EdDSA": "Ed25519"}

PublicKey = RSAKey | ECKey | OKPKey


def unverified_header(token: str) -> dict[str, Any]:
    """The protected header of a compact JWS, decoded without verification (to choose the key)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidJWT("not a compact JWS (three dot-separated parts)")
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidJWT("the JWS header is not base64url JSON") from exc
    if not isinstance(header, dict):
        raise InvalidJWT("the JWS header is not a JSON object")
    return header


def _fits(key: PublicKey, alg: str) -> bool:
    """Whether `key` can verify `alg`: its type and curve, and its own `alg`/`use` if it declares them."""
    if key.key_type != _KEY_TYPES[alg]:
        return False
    if alg in _CURVES and key.as_dict().get("crv") != _CURVES[alg]:
        return False
    declared_alg = key.get("alg")
    declared_use = key.get("use")
    return (declared_alg in (None, alg)) and (declared_use in (None, "sig"))


def candidate_keys(keys: KeySet, header: Mapping[str, Any]) -> list[PublicKey]:
    """The keys that may have signed a JWS with `header`: the one its `kid` names, else every fitting key."""
    alg = str(header.get("alg"))
    kid = header.get("kid")
    fitting = [k for k in keys.keys if isinstance(k, RSAKey | ECKey | OKPKey) and _fits(k, alg)]
    if kid is not None:
        return [k for k in fitting if k.kid == kid]
    return fitting


def verify_jwt(token: str, keys: KeySet, algorithms: Collection[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS JWT; return its header and claims. `algorithms` must be a subset of ours."""
    allowed = [a for a in algorithms if a in SIGNING_ALGORITHMS]
    header = unverified_header(token)
    alg = header.get("alg")
    if alg not in allowed:
        raise InvalidJWT(f"signing algorithm {alg!r} is not accepted (accepted: {', '.join(allowed)})")
    candidates = candidate_keys(keys, header)
    if not candidates:
        raise InvalidJWT("no registered key matches the JWS header")
    for key in candidates:
        try:
            decoded = jwt.decode(token, key, algorithms=[alg])
        except (JoseError, ValueError):
            continue
        if not isinstance(decoded.claims, dict):
            raise InvalidJWT("the JWT claims are not a JSON object")
        return dict(decoded.header), dict(decoded.claims)
    raise InvalidJWT("the JWS signature does not verify")


def sign_jwt(header: dict[str, Any], claims: dict[str, Any], key: PublicKey) -> str:
    """Sign claims as a compact JWS with the key's algorithm, which must be one we sign with."""
    alg = header["alg"]
    if alg not in SERVER_SIGNING_ALGORITHMS:
        raise ValueError(f"this server does not sign with {alg}")
    return jwt.encode(header, claims, key, algorithms=[alg])


def import_public_key_set(jwks: Mapping[str, Any]) -> KeySet:
    """A client's JWK Set, public parts only; refuses private or symmetric keys and RSA keys under 2048 bits."""
    raw_keys = jwks.get("keys")
    if not isinstance(raw_keys, list) or not raw_keys:
        raise ValueError("a JWK Set needs a non-empty `keys` array")
    for raw in raw_keys:
        if not isinstance(raw, dict):
            raise ValueError("each JWK must be a JSON object")
        if raw.get("kty") not in ("RSA", "EC", "OKP"):
            raise ValueError(f"key type {raw.get('kty')!r} is not accepted (RSA, EC or OKP)")
        if "d" in raw:
            raise ValueError("a client's JWK Set must hold public keys only")
    try:
        key_set = KeySet.import_key_set({"keys": raw_keys})
    except (JoseError, ValueError, TypeError) as exc:
        raise ValueError(f"not a valid JWK Set: {exc}") from exc
    for key in key_set.keys:
        if isinstance(key, RSAKey) and key.raw_value.key_size < MIN_RSA_BITS:
            raise ValueError(f"RSA keys must have at least {MIN_RSA_BITS} bits")
    return key_set
