"""The policy rows of /open-banking: principals addressed to open_banking, discovery public, nothing else."""

from __future__ import annotations

import pytest

from gateway.policy import METHOD_NOT_ALLOWED, UNMATCHED, Family, policy_for


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/open-banking/v4.0/aisp/account-access-consents/aac-1", "accounts"),
        ("POST", "/open-banking/v4.0/aisp/account-access-consents", "accounts"),
        ("POST", "/open-banking/v4.0/pisp/domestic-payments", "payments"),
        ("POST", "/open-banking/v4.0/cbpii/funds-confirmations", "fundsconfirmations"),
    ],
)
def test_open_banking_routes_take_tpp_tokens_and_go_to_open_banking(method: str, path: str, scope: str) -> None:
    policy = policy_for(method, path)
    assert policy.family is Family.OPEN_BANKING
    assert policy.audience == "open_banking"
    assert policy.scopes == frozenset({scope})


@pytest.mark.parametrize(
    "path",
    [
        "/open-banking/discovery",
        "/open-banking/v4.0/aisp/openapi.json",
        "/open-banking/v4.0/pisp/openapi.json",
        "/open-banking/v4.0/cbpii/openapi.json",
    ],
)
def test_discovery_and_openapi_documents_are_public_reads(path: str) -> None:
    assert policy_for("GET", path).family is Family.PUBLIC
    posted = policy_for("POST", path)
    assert posted is METHOD_NOT_ALLOWED or posted.needs_token  # never a public write


def test_nothing_else_under_open_banking_passes_without_a_token() -> None:
    assert policy_for("GET", "/open-banking/v4.0/pisp/openapi.yaml").needs_token
    assert policy_for("GET", "/open-banking/discovery/x") is UNMATCHED
    assert policy_for("GET", "/open-banking/v3.1/aisp/accounts") is UNMATCHED
