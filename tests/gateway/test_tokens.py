"""The gateway's JWKS cache and verified-token cache, against keys the way the authorization server publishes them."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

import pytest
from joserfc.jwk import ECKey

from auth_server.oauth.jose import sign_jwt
from gateway.tokens import JWKS_MIN_REFRESH_S, AccessTokenVerifier, JwksCache, TokenRejected

ISSUER = "https://bank.example"


class Keys:
    """A key set that can rotate, counting how often it is fetched."""

    def __init__(self) -> None:
        self.keys = [ECKey.generate_key("P-256", private=True, parameters={"kid": "k1"})]
        self.fetches = 0

    async def fetch(self) -> Mapping[str, Any]:
        self.fetches += 1
        return {"keys": [key.as_dict(private=False) for key in self.keys]}

    def rotate(self, kid: str) -> ECKey:
        key = ECKey.generate_key("P-256", private=True, parameters={"kid": kid})
        self.keys.append(key)
        return key


def token(key: ECKey, **overrides: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": ISSUER, "sub": "s", "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    return sign_jwt({"alg": "ES256", "typ": "at+jwt", "kid": key.kid}, claims | overrides, key)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_unknown_kids_cannot_cause_a_fetch_storm() -> None:
    keys, clock = Keys(), Clock()
    verifier = AccessTokenVerifier(JwksCache(keys.fetch, clock=clock), issuer=ISSUER, audience=ISSUER)
    await verifier.verify(token(keys.keys[0]))
    assert keys.fetches == 1
    stranger = ECKey.generate_key("P-256", private=True, parameters={"kid": "unknown"})
    results = await asyncio.gather(*(verifier.verify(token(stranger)) for _ in range(50)), return_exceptions=True)
    assert all(isinstance(r, TokenRejected) and r.reason == "unknown_key" for r in results)
    assert keys.fetches == 1, "within the refresh interval nothing is refetched"
    clock.now += JWKS_MIN_REFRESH_S + 0.1
    with pytest.raises(TokenRejected):
        await verifier.verify(token(stranger))
    assert keys.fetches == 2


async def test_a_rotated_key_is_picked_up_on_first_sight() -> None:
    keys, clock = Keys(), Clock()
    verifier = AccessTokenVerifier(JwksCache(keys.fetch, clock=clock), issuer=ISSUER, audience=ISSUER)
    await verifier.verify(token(keys.keys[0]))
    clock.now += JWKS_MIN_REFRESH_S + 0.1
    new = keys.rotate("k2")
    verified = await verifier.verify(token(new))
    assert verified.claims["iss"] == ISSUER and keys.fetches == 2


async def test_a_verified_token_is_not_reverified_but_its_expiry_is_checked_every_time() -> None:
    keys = Keys()
    verifier = AccessTokenVerifier(JwksCache(keys.fetch), issuer=ISSUER, audience=ISSUER)
    now = int(time.time())
    short = token(keys.keys[0], exp=now + 10)
    await verifier.verify(short, now=now)
    keys.keys.clear()  # were it verified again, the signature check would fail for want of a key
    await verifier.verify(short, now=now + 5)
    with pytest.raises(TokenRejected) as refused:
        await verifier.verify(short, now=now + 30)
    assert refused.value.reason == "expired"


async def test_an_rsa_key_cannot_stand_in_for_an_ec_one() -> None:
    keys = Keys()
    verifier = AccessTokenVerifier(JwksCache(keys.fetch), issuer=ISSUER, audience=ISSUER)
    _, payload, signature = token(keys.keys[0]).split(".")
    swapped = base64.urlsafe_b64encode(json.dumps({"alg": "PS256", "typ": "at+jwt", "kid": "k1"}).encode())
    forged = swapped.rstrip(b"=").decode() + "." + payload + "." + signature
    with pytest.raises(TokenRejected) as refused:
        await verifier.verify(forged)
    assert refused.value.reason == "unknown_key"
