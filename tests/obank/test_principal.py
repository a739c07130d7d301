"""Internal principal assertions: only the gateway's key, only for the named service, only briefly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from obank.principal import (
    INTERNAL_ISSUER,
    InternalAssertions,
    InvalidPrincipalAssertionError,
    Principal,
    load_internal_assertions,
)
from obank.settings import Settings

PRINCIPAL = Principal(
    subject="cust-1",
    kind="customer",
    interaction_id="6f1c0e0e-0000-4000-8000-000000000001",
    client_id="app",
    scopes=frozenset({"accounts", "payments"}),
    consent_id="c-1",
    certificate_thumbprint="abc",
    acr="urn:obank:acr:mfa",
    session_id="s-1",
)


def test_round_trip_for_the_intended_audience() -> None:
    assertions = InternalAssertions(ECKey.generate_key("P-256", private=True))
    assert assertions.verify(assertions.sign(PRINCIPAL, "core_banking"), "core_banking") == PRINCIPAL


def test_refused_for_another_service_another_key_or_tampering() -> None:
    key = ECKey.generate_key("P-256", private=True)
    assertions = InternalAssertions(key)
    token = assertions.sign(PRINCIPAL, "core_banking")
    with pytest.raises(InvalidPrincipalAssertionError):
        assertions.verify(token, "audit")
    with pytest.raises(InvalidPrincipalAssertionError):
        InternalAssertions(ECKey.generate_key("P-256", private=True)).verify(token, "core_banking")
    header, payload, signature = token.split(".")
    with pytest.raises(InvalidPrincipalAssertionError):
        assertions.verify(f"{header}.{payload[:-4]}AAAA.{signature}", "core_banking")
    with pytest.raises(InvalidPrincipalAssertionError):
        assertions.verify("not-a-jwt", "core_banking")


def test_expired_assertion_is_refused() -> None:
    key = ECKey.generate_key("P-256", private=True)
    past = int(time.time()) - 120
    claims = {**PRINCIPAL.to_claims(), "iss": INTERNAL_ISSUER, "aud": "core_banking", "iat": past, "exp": past + 60}
    token = jwt.encode({"alg": "ES256", "typ": "obank-principal+jwt"}, claims, key)
    with pytest.raises(InvalidPrincipalAssertionError):
        InternalAssertions(key).verify(token, "core_banking")


def test_development_key_is_generated_once(tmp_path: Path) -> None:
    settings = Settings(env="development", data_dir=tmp_path)
    token = load_internal_assertions(settings).sign(PRINCIPAL, "x")
    assert load_internal_assertions(settings).verify(token, "x") == PRINCIPAL
    assert (tmp_path / "internal-signing-key.json").stat().st_mode & 0o077 == 0
