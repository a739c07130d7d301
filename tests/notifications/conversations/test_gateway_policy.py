"""The gateway's rows for secure messages: customers' first-party tokens on /api/v1/conversations, support staff
and admins on /admin/v1/conversations, both addressed to the notifications app; every route it serves has its
row, and the gateway routes both prefixes to it."""

from __future__ import annotations

import re

from fastapi import FastAPI

from gateway.policy import Family, policy_for
from gateway.ratelimit import RateClass
from notifications.app import ADMIN_PREFIXES, CUSTOMER_PREFIXES


def test_every_route_has_the_row_the_upstream_checks_again(app: FastAPI) -> None:
    checked = 0
    for path, item in app.openapi()["paths"].items():
        if "/conversations" not in path:
            continue
        concrete = re.sub(r"\{[^}]+\}", "3f1c2b8e-0000-4000-8000-000000000001", path)
        for method in item:
            policy = policy_for(method.upper(), concrete)
            assert policy.audience == "notifications", (method, path)
            assert policy.rate_class is (RateClass.READS if method == "get" else RateClass.WRITES), (method, path)
            if path.startswith("/admin/"):
                assert policy.family is Family.ADMIN and policy.roles == frozenset({"support", "admin"}), path
            else:
                assert policy.family is Family.FIRST_PARTY and policy.scopes == frozenset({"openid"}), path
                assert policy.subject_kinds == frozenset({"customer"}), path
            checked += 1
    assert checked == 10
    assert "/api/v1/conversations" in CUSTOMER_PREFIXES and "/admin/v1/conversations" in ADMIN_PREFIXES
