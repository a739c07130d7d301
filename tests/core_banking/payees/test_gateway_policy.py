"""The gateway's rows for the payee routes: reads with `accounts`, changes with `payments`, customers only,
addressed to core banking; every route the app serves has its row."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from gateway.policy import METHOD_NOT_ALLOWED, UNMATCHED, Family, policy_for
from gateway.ratelimit import RateClass

PAYEE = "/api/v1/beneficiaries/3f1c2b8e-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    ("method", "path", "scope", "rate_class"),
    [
        ("GET", "/api/v1/beneficiaries", "accounts", RateClass.READS),
        ("GET", PAYEE, "accounts", RateClass.READS),
        ("POST", "/api/v1/beneficiaries", "payments", RateClass.WRITES),
        ("PATCH", PAYEE, "payments", RateClass.WRITES),
        ("DELETE", PAYEE, "payments", RateClass.WRITES),
        ("POST", "/api/v1/payee-confirmations", "payments", RateClass.WRITES),
    ],
    ids=["list", "get", "add", "change", "delete", "confirm"],
)
def test_payee_routes_take_customer_tokens_with_their_scope(
    method: str, path: str, scope: str, rate_class: RateClass
) -> None:
    policy = policy_for(method, path)
    assert policy.family is Family.FIRST_PARTY
    assert (policy.scopes, policy.subject_kinds, policy.audience) == (
        frozenset({scope}),
        frozenset({"customer"}),
        "core_banking",
    )
    assert policy.rate_class is rate_class


def test_every_payee_route_of_the_app_has_its_row(app: FastAPI) -> None:
    served = [
        (method.upper(), path.replace("{payee_id}", PAYEE.rsplit("/", 1)[1]))
        for path, operations in app.openapi()["paths"].items()
        if path.startswith(("/api/v1/beneficiaries", "/api/v1/payee-confirmations"))
        for method in operations
    ]
    assert len(served) == 6
    for method, path in served:
        assert policy_for(method, path) is not UNMATCHED, (method, path)
    assert policy_for("PUT", PAYEE) is METHOD_NOT_ALLOWED
