"""UK Open Banking message signing as a TPP does it: a detached JWS of the exact body, and the bank's checked."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx
from joserfc import jws
from joserfc.jwk import KeySet, RSAKey
from joserfc.registry import HeaderParameter

from open_banking.signing import CRITICAL, OB_IAT, OB_ISS, OB_TAN, SIGNATURE_HEADER


def _any(_value: object) -> None:
    """Checked by the tests themselves."""


_REGISTRY = jws.JWSRegistry(
    header_registry={name: HeaderParameter(name, _any) for name in CRITICAL}, algorithms=["PS256"]
)


def tpp_signature(
    body: bytes,
    key: RSAKey,
    *,
    iss: str,
    tan: str,
    iat: int | None = None,
    omit: tuple[str, ...] = (),
    alg: str = "PS256",
    **header: Any,
) -> str:
    """A TPP's `x-jws-signature` of `body` (R/W API Profile, "Process for Signing a Payload"); `header` overrides."""
    protected: dict[str, Any] = {
        "alg": alg,
        "kid": key.kid,
        "typ": "JOSE",
        "cty": "application/json",
        OB_IAT: int(time.time()) if iat is None else iat,
        OB_ISS: iss,
        OB_TAN: tan,
        "crit": list(CRITICAL),
        **header,
    }
    for name in omit:
        protected.pop(name, None)
    registry = jws.JWSRegistry(
        header_registry={name: HeaderParameter(name, _any) for name in protected.get("crit", ()) or ()},
        algorithms=[alg],
        strict_check_header=False,
    )
    detached: str = jws.detach_content(jws.serialize_compact(protected, body, key, algorithms=[alg], registry=registry))
    return detached


def signature_header(signature: str) -> dict[str, Any]:
    """The protected header of a detached JWS, as sent."""
    segment = signature.split(".")[0]
    header: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return header


def verify_bank_signature(response: httpx.Response, jwks: Mapping[str, Any]) -> dict[str, Any]:
    """The bank's signature on `response`, verified over its exact body with the published keys; its header."""
    signature = response.headers[SIGNATURE_HEADER]
    parts = signature.split(".")
    assert len(parts) == 3 and parts[1] == "", "a detached JWS"
    keys = KeySet.import_key_set(dict(jwks))  # type: ignore[arg-type]
    verified = jws.deserialize_compact(
        signature, keys, algorithms=["PS256"], registry=_REGISTRY, payload=response.content
    )
    return dict(verified.headers())
