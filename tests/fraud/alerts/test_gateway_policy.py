"""The gateway's rows for the fraud staff API: staff tokens with the fraud_analyst role only, addressed to the
fraud app; every route the app serves has its row."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI

from gateway.policy import Family, policy_for
from gateway.ratelimit import RateClass

ALERT = "/admin/v1/fraud/alerts/3f1c2b8e-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    ("method", "path", "rate_class"),
    [
        ("GET", "/admin/v1/fraud/alerts", RateClass.READS),
        ("GET", ALERT, RateClass.READS),
        ("POST", ALERT + "/claim", RateClass.WRITES),
        ("POST", "/admin/v1/fraud/payments/3f1c2b8e-0000-4000-8000-000000000002/release", RateClass.WRITES),
        ("DELETE", "/admin/v1/fraud/mule-accounts/40051576262352", RateClass.WRITES),
    ],
)
def test_fraud_routes_take_fraud_analysts_only(method: str, path: str, rate_class: RateClass) -> None:
    policy = policy_for(method, path)
    assert policy.family is Family.ADMIN
    assert (policy.roles, policy.subject_kinds, policy.audience) == (
        frozenset({"fraud_analyst"}),
        frozenset({"staff"}),
        "fraud",
    )
    assert policy.rate_class is rate_class


def test_every_fraud_route_of_the_app_has_its_row(app: FastAPI) -> None:
    for path, item in app.openapi()["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "40051576262352", path)
        for method in item:
            assert policy_for(method.upper(), concrete).audience == "fraud", (method, path)
