"""Every route of the investigation API: investigators only, hostile input (bad ids, NUL bytes, huge numbers, far
dates, two subjects at once, short or multi-line reasons, broken JSON) refused as problem+json 4xx that writes
nothing, never a 500; the gateway routes each to the audit app for investigators; each documents its problems."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway.policy import Family, policy_for
from gateway.ratelimit import RateClass
from obank.runtime import Platform
from tests.audit.investigations.conftest import BASE, HeadersFor, problem, rows

RECORD = "{record}"
UUID = "7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
# (method, path, query, body or raw bytes): {record} is an existing record's id.
HOSTILE: list[tuple[str, str, dict[str, str] | None, Any]] = [
    ("GET", "/timeline", None, None),
    ("GET", "/timeline", {"customer_id": UUID, "account_id": UUID}, None),
    ("GET", "/timeline", {"correlation_id": UUID, "payment_id": UUID}, None),
    ("GET", "/timeline", {"customer_id": "not-a-uuid"}, None),
    ("GET", "/timeline", {"account_id": "9" * 400}, None),
    ("GET", "/timeline", {"payment_id": "%00"}, None),
    ("GET", "/timeline", {"correlation_id": ""}, None),
    ("GET", "/timeline", {"correlation_id": "c" * 65}, None),
    ("GET", "/timeline", {"correlation_id": "abc\x00def"}, None),
    ("GET", "/timeline", {"customer_id": UUID, "before": "9999-12-31T23:59:59+00:00"}, None),
    ("GET", "/timeline", {"customer_id": UUID, "before": "0001-01-01T00:00:00+00:00"}, None),
    ("GET", "/timeline", {"customer_id": UUID, "before": "2026-12-05T10:00:00"}, None),  # no time zone
    ("GET", "/timeline", {"customer_id": UUID, "before": "yesterday"}, None),
    ("GET", "/timeline", {"customer_id": UUID, "limit": "0"}, None),
    ("GET", "/timeline", {"customer_id": UUID, "limit": "501"}, None),
    ("GET", "/timeline", {"customer_id": UUID, "limit": str(10**30)}, None),
    ("GET", "/timeline", {"customer_id": UUID, "limit": "-1"}, None),
    ("POST", f"/records/{RECORD}/decryption", None, {}),
    ("POST", f"/records/{RECORD}/decryption", None, None),
    ("POST", f"/records/{RECORD}/decryption", None, {"reason": "123456789"}),
    ("POST", f"/records/{RECORD}/decryption", None, {"reason": "    short     "}),
    ("POST", f"/records/{RECORD}/decryption", None, {"reason": "x" * 501}),
    ("POST", f"/records/{RECORD}/decryption", None, {"reason": "a long enough\x00 reason"}),
    ("POST", f"/records/{RECORD}/decryption", None, {"reason": "a long enough\n reason"}),
    ("POST", f"/records/{RECORD}/decryption", None, {"reason": "a long enough\t reason"}),
    ("POST", f"/records/{RECORD}/decryption", None, {"reason": "a long enough\x7f reason"}),
    ("POST", f"/records/{RECORD}/decryption", None, {"reason": 10**400}),
    ("POST", f"/records/{RECORD}/decryption", None, {"reason": ["a long enough reason"]}),
    ("POST", f"/records/{RECORD}/decryption", None, {"reason": "a long enough reason", "staff_id": "someone"}),
    ("POST", f"/records/{RECORD}/decryption", None, b'{"reason": "a long enough \\u0000 reason"}'),
    ("POST", f"/records/{RECORD}/decryption", None, b'{"reason": '),
    ("POST", f"/records/{RECORD}/decryption", None, b"\x00\xff"),
    ("POST", "/records/not-a-uuid/decryption", None, {"reason": "a long enough reason"}),
    ("POST", "/records/%00/decryption", None, {"reason": "a long enough reason"}),
    ("POST", f"/records/{UUID}/decryption", None, {"reason": "a long enough reason"}),  # no such record
    ("GET", "/decryptions", {"record_id": "not-a-uuid"}, None),
    ("GET", "/decryptions", {"staff_id": ""}, None),
    ("GET", "/decryptions", {"staff_id": "s" * 201}, None),
    ("GET", "/decryptions", {"staff_id": "staff\x00"}, None),
    ("GET", "/decryptions", {"limit": str(10**30)}, None),
    ("GET", "/decryptions", {"limit": "0"}, None),
    ("GET", "/decryptions", {"before": "9999-12-31T23:59:59+00:00"}, None),
    ("GET", "/decryptions", {"before": "2026-12-05"}, None),
]


@pytest.mark.parametrize(("method", "path", "params", "body"), HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
async def test_hostile_input_is_a_problem_that_writes_nothing(
    platform: Platform,
    client: httpx.AsyncClient,
    headers_for: HeadersFor,
    record_id: uuid.UUID,
    method: str,
    path: str,
    params: dict[str, str] | None,
    body: Any,
) -> None:
    headers = headers_for("auditor")
    url = BASE + path.replace(RECORD, str(record_id))
    if isinstance(body, bytes):
        response = await client.request(
            method, url, params=params, content=body, headers={**headers, "content-type": "application/json"}
        )
    else:
        response = await client.request(method, url, params=params, json=body, headers=headers)
    problem(response, 400, 404, 405, 422)
    assert await rows(platform, "SELECT * FROM audit.decryptions") == []


def test_two_subjects_are_named_in_the_refusal() -> None:
    from audit.investigations.errors import TimelineSubjectInvalid
    from audit.investigations.schemas import TimelineSubject

    with pytest.raises(TimelineSubjectInvalid, match="got customer, account"):
        TimelineSubject.named(
            correlation_id=None, customer_id=uuid.UUID(UUID), account_id=uuid.UUID(UUID), payment_id=None
        )


@pytest.mark.parametrize(
    ("method", "path", "rate_class"),
    [
        ("GET", "/admin/v1/audit/timeline", RateClass.READS),
        ("GET", "/admin/v1/audit/decryptions", RateClass.READS),
        ("POST", f"/admin/v1/audit/records/{UUID}/decryption", RateClass.WRITES),
    ],
)
def test_the_gateway_routes_investigators_to_the_audit_app(method: str, path: str, rate_class: RateClass) -> None:
    policy = policy_for(method, path)
    assert policy.family is Family.ADMIN
    assert (policy.roles, policy.subject_kinds, policy.audience, policy.rate_class) == (
        frozenset({"support", "fraud_analyst", "auditor", "admin"}),
        frozenset({"staff"}),
        "audit",
        rate_class,
    )


def test_every_route_has_its_gateway_row_and_documents_its_problems(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    assert set(paths) == {f"{BASE}/timeline", f"{BASE}/records/{{record_id}}/decryption", f"{BASE}/decryptions"}
    for path, item in paths.items():
        concrete = re.sub(r"\{[^}]+\}", UUID, path)
        for method, operation in item.items():
            assert policy_for(method.upper(), concrete).audience == "audit", (method, path)
            assert operation.get("description"), (method, path)
            assert {"401", "403", "422"} <= set(operation["responses"]), (method, path)
            for status in ("401", "403", "422"):
                assert "application/problem+json" in operation["responses"][status]["content"]
    decryption = paths[f"{BASE}/records/{{record_id}}/decryption"]["post"]["responses"]
    assert {"404", "409"} <= set(decryption)
