"""Every route of the fraud staff API: fraud analysts only (401 without a principal, 403 for other staff and for
customers), and hostile input (bad ids, NUL bytes, huge numbers, far dates, unknown values, overlong text, broken
JSON) refused as problem+json 4xx that changes nothing, never a 500; each route documents its problems."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from obank.problems import PROBLEM_MEDIA_TYPE
from obank.runtime import Platform
from tests.fraud.alerts.conftest import BASE, CREDITOR, HeadersFor, Raise, audit_actions

ALERT = "{alert}"
# (method, path, a valid body): {alert} is an existing alert's id.
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/alerts", None),
    ("GET", f"/alerts/{ALERT}", None),
    ("POST", f"/alerts/{ALERT}/claim", None),
    ("POST", f"/alerts/{ALERT}/notes", {"text": "a note"}),
    ("POST", f"/alerts/{ALERT}/resolve", {"outcome": "FRAUD", "note": "a note"}),
    ("POST", "/payments/6c9be07b-9ec1-4172-96b6-e1c3a278b90e/release", None),
    ("POST", "/payments/fc8bacaf-c563-4cdc-a574-969e5d7c251a/reject", None),
    ("GET", "/mule-accounts", None),
    ("POST", "/mule-accounts", {"creditor_account": CREDITOR, "reason": "received stolen funds"}),
    ("DELETE", f"/mule-accounts/{CREDITOR}", None),
]
# The account in fullwidth digits, which `str.isdigit` would take for one.
FULLWIDTH_DIGITS = "".join(chr(0xFF10 + int(digit)) for digit in CREDITOR)
ROUTE_IDS = [f"{method} {path}" for method, path, _ in ROUTES]


async def _call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    headers: dict[str, str],
    *,
    json: Any = None,
    content: bytes | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    if content is not None:
        headers = {**headers, "content-type": "application/json"}
    return await client.request(method, BASE + path, json=json, content=content, params=params, headers=headers)


def _problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code and body["code"]
    return body


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=ROUTE_IDS)
async def test_only_fraud_analysts_are_admitted(
    platform: Platform,
    client: httpx.AsyncClient,
    headers_for: HeadersFor,
    raise_alert: Raise,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    alert_id, _ = await raise_alert()
    path = path.replace(ALERT, str(alert_id))
    _problem(await _call(client, method, path, {}, json=body), 401)
    for roles in (("support",), ("auditor",), ("admin",)):
        refused = _problem(await _call(client, method, path, headers_for(*roles), json=body), 403)
        assert refused["code"] == "insufficient_role"
    customer = headers_for(kind="customer", subject=str(uuid.uuid4()))
    assert _problem(await _call(client, method, path, customer, json=body), 403)["code"] == "forbidden"
    assert await audit_actions(platform, str(alert_id)) == ["fraud_alert.raised"]  # nothing changed


# Hostile input: (method, path, params, body or raw bytes) — each a 4xx problem, never a 500.
HOSTILE: list[tuple[str, str, dict[str, str] | None, Any]] = [
    ("GET", "/alerts/not-a-uuid", None, None),
    ("GET", "/alerts/%00", None, None),
    ("GET", "/alerts/" + "9" * 400, None, None),
    ("GET", "/alerts", {"status": "MAYBE"}, None),
    ("GET", "/alerts", {"status": "OPEN\x00"}, None),
    ("GET", "/alerts", {"customer_id": "123"}, None),
    ("GET", "/alerts", {"assigned_to": "a" * 129}, None),
    ("GET", "/alerts", {"assigned_to": "analyst\x00"}, None),
    ("GET", "/alerts", {"limit": str(10**30)}, None),
    ("GET", "/alerts", {"limit": "0"}, None),
    ("GET", "/alerts", {"limit": "-1"}, None),
    ("GET", "/alerts", {"created_from": "9999-12-31T23:59:59+00:00"}, None),
    ("GET", "/alerts", {"created_to": "0001-01-01T00:00:00+00:00"}, None),
    ("GET", "/alerts", {"created_from": "2026-12-05T10:00:00"}, None),  # no time zone
    ("GET", "/alerts", {"created_from": "yesterday"}, None),
    ("GET", "/alerts", {"before": "not-a-uuid"}, None),
    ("GET", "/alerts", {"before": "0b0e5c1e-8f6e-4d0a-9c41-3f5d8f0a2b11"}, None),
    ("POST", f"/alerts/{ALERT}/claim", {"force": "maybe"}, None),
    ("POST", "/alerts/not-a-uuid/claim", None, None),
    ("POST", "/alerts/5d7a3b2e-1c4f-4e8a-9b6d-2f1e0c9a8b7d/claim", None, None),
    ("POST", f"/alerts/{ALERT}/notes", None, {"text": "a\x00b"}),
    ("POST", f"/alerts/{ALERT}/notes", None, {"text": "a\x07b"}),
    ("POST", f"/alerts/{ALERT}/notes", None, {"text": "x" * 4001}),
    ("POST", f"/alerts/{ALERT}/notes", None, {"text": "   "}),
    ("POST", f"/alerts/{ALERT}/notes", None, {"text": 10**400}),
    ("POST", f"/alerts/{ALERT}/notes", None, {"text": "ok", "author": "someone-else"}),
    ("POST", f"/alerts/{ALERT}/notes", None, b'{"text": '),
    ("POST", f"/alerts/{ALERT}/notes", None, b"\x00\xff"),
    ("POST", f"/alerts/{ALERT}/notes", None, None),
    ("POST", "/alerts/5d7a3b2e-1c4f-4e8a-9b6d-2f1e0c9a8b7d/notes", None, {"text": "ok"}),
    ("POST", f"/alerts/{ALERT}/resolve", None, {"outcome": "MAYBE", "note": "x"}),
    ("POST", f"/alerts/{ALERT}/resolve", None, {"outcome": "FRAUD"}),
    ("POST", f"/alerts/{ALERT}/resolve", None, {"outcome": "FRAUD", "note": "x" * 4001}),
    ("POST", f"/alerts/{ALERT}/resolve", None, {"outcome": "FRAUD\x00", "note": "x"}),
    ("POST", f"/alerts/{ALERT}/resolve", None, b"[1, 2"),
    ("POST", "/payments/not-a-uuid/release", None, None),
    ("POST", "/payments/%00/reject", None, None),
    ("POST", "/payments/6c9be07b-9ec1-4172-96b6-e1c3a278b90e/release", None, None),
    ("POST", "/payments/fc8bacaf-c563-4cdc-a574-969e5d7c251a/reject", None, None),
    ("GET", "/mule-accounts", {"limit": str(10**30)}, None),
    ("GET", "/mule-accounts", {"after": "12345"}, None),
    ("GET", "/mule-accounts", {"after": "4005157626235\x00"}, None),
    ("POST", "/mule-accounts", None, {"creditor_account": "4005157626235", "reason": "x"}),
    ("POST", "/mule-accounts", None, {"creditor_account": "400515762623521", "reason": "x"}),
    ("POST", "/mule-accounts", None, {"creditor_account": FULLWIDTH_DIGITS, "reason": "x"}),
    ("POST", "/mule-accounts", None, {"creditor_account": 40051576262352, "reason": "x"}),
    ("POST", "/mule-accounts", None, {"creditor_account": CREDITOR, "reason": "x" * 201}),
    ("POST", "/mule-accounts", None, {"creditor_account": CREDITOR, "reason": "line\nbreak"}),
    ("POST", "/mule-accounts", None, {"creditor_account": CREDITOR, "reason": "nul\x00"}),
    ("POST", "/mule-accounts", None, {"creditor_account": CREDITOR}),
    ("POST", "/mule-accounts", None, b"{{"),
    ("DELETE", "/mule-accounts/123", None, None),
    ("DELETE", "/mule-accounts/4005157626235%00", None, None),
    ("DELETE", f"/mule-accounts/{CREDITOR}", None, None),  # not on the list
]


@pytest.mark.parametrize(("method", "path", "params", "body"), HOSTILE, ids=[f"{m} {p} {q}" for m, p, q, _ in HOSTILE])
async def test_hostile_input_is_a_problem_and_changes_nothing(
    platform: Platform,
    client: httpx.AsyncClient,
    analyst: dict[str, str],
    raise_alert: Raise,
    method: str,
    path: str,
    params: dict[str, str] | None,
    body: Any,
) -> None:
    alert_id, _ = await raise_alert()
    path = path.replace(ALERT, str(alert_id))
    raw = body if isinstance(body, bytes) else None
    response = await _call(client, method, path, analyst, json=None if raw else body, content=raw, params=params)
    _problem(response, 404, 409, 422)
    assert await audit_actions(platform, str(alert_id)) == ["fraud_alert.raised"]
    detail = (await client.get(f"{BASE}/alerts/{alert_id}", headers=analyst)).json()
    assert (detail["status"], detail["notes"]) == ("OPEN", [])
    assert (await client.get(f"{BASE}/mule-accounts", headers=analyst)).json() == []


def test_every_route_documents_its_problems(app: FastAPI) -> None:
    operations = [
        (path, method, operation)
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
        if path.startswith(BASE)
    ]
    assert len(operations) == len(ROUTES)
    for path, method, operation in operations:
        for status in ("401", "403", "422"):
            content = operation["responses"][status]["content"]
            assert PROBLEM_MEDIA_TYPE in content, (method, path, status)
    documented = {(path, method): set(operation["responses"]) for path, method, operation in operations}
    assert {"404", "409"} <= documented[(f"{BASE}/alerts/{{alert_id}}/claim", "post")]
    assert {"404", "409"} <= documented[(f"{BASE}/payments/{{payment_id}}/release", "post")]
    assert "404" in documented[(f"{BASE}/mule-accounts/{{creditor_account}}", "delete")]
