"""The internal assertion keys: the gateways' ES256 private JWK and the public JWK Set upstream services verify with.

Errors name what is wrong, never the key material, so they can be printed and logged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

CURVE = "P-256"  # ES256 (RFC 7518 s3.4)
# JWK members that hold private key material (RFC 7518 s6.2.2, s6.3.2, s6.4); none may reach an upstream.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


def with_kid(key: ECKey) -> ECKey:
    """The key itself when it has a kid, else a copy whose kid is its RFC 7638 thumbprint."""
    if key.kid:
        return key
    return ECKey.import_key(key.as_dict(private=key.is_private), {"kid": key.thumbprint()})


def _ec_p256(document: Any, what: str) -> ECKey:
    if not isinstance(document, dict) or document.get("kty") != "EC" or document.get("crv") != CURVE:
        raise ValueError(f"{what} must be an EC {CURVE} JWK (ES256)")
    try:
        return with_kid(ECKey.import_key(document))
    except (JoseError, ValueError, TypeError) as exc:
        raise ValueError(f"{what} is not a valid EC {CURVE} JWK") from exc


def parse_signing_key(raw: str) -> ECKey:
    """The ES256 private JWK (JSON) a gateway signs internal assertions with."""
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError("the internal signing key must be a JSON Web Key (JSON)") from exc
    if not isinstance(document, dict) or "d" not in document:
        raise ValueError(f"the internal signing key must be an EC {CURVE} private JWK (with its 'd' member)")
    return _ec_p256(document, "the internal signing key")


def parse_verification_keys(raw: str) -> KeySet:
    """The public JWK Set (JSON) an upstream verifies internal assertions with; private members are refused."""
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError("the internal verification keys must be a JWK Set (JSON)") from exc
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not keys:
        raise ValueError('the internal verification keys must be a JWK Set: {"keys": [...]} with at least one key')
    parsed: list[ECKey] = []
    for index, key in enumerate(keys):
        if isinstance(key, dict) and PRIVATE_MEMBERS & key.keys():
            raise ValueError(f"internal verification key {index} holds private key material: give public keys only")
        parsed.append(_ec_p256(key, f"internal verification key {index}"))
    kids = [key.kid for key in parsed]
    if len(set(kids)) != len(kids):
        raise ValueError("the internal verification keys repeat a kid")
    return KeySet(list(parsed))


def public_key(key: ECKey) -> ECKey:
    """The public half of a signing key, under the same kid."""
    signing = with_kid(key)
    return ECKey.import_key(signing.as_dict(private=False))


def public_key_set(keys: Iterable[ECKey]) -> dict[str, Any]:
    """A JWK Set of the keys' public halves, one per kid, in the order given."""
    seen: dict[str, dict[str, Any]] = {}
    for key in keys:
        public = public_key(key)
        seen.setdefault(str(public.kid), public.as_dict(private=False))
    return {"keys": list(seen.values())}


def new_signing_key() -> ECKey:
    """A fresh ES256 private key whose kid is its thumbprint (RFC 7638)."""
    return with_kid(ECKey.generate_key(CURVE, private=True))
