"""The admin API: staff roles per operation, problem+json errors, every change audited with the staff actor."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import ECKey

from gateway.policy import policy_for
from obank.principal import PRINCIPAL_HEADER, InternalAssertions, Principal
from obank.runtime import Platform
from tests.core_banking.conftest import HeadersFor
from tests.core_banking.helpers import count, ledger_problems

CUSTOMER_BODY = {
    "full_name": "Katherine Johnson",
    "email": "katherine@example.com",
    "phone": "+447700900555",
    "date_of_birth": "1918-08-26",
    "address": {"lines": ["1 Orbit Way"], "city": "Leeds", "postcode": "LS1 1AA", "country": "GB"},
    "national_id": "QQ111222D",
}
CASH = {"amount_minor": 1_000, "currency": "GBP", "description": "Counter"}
ANY_STAFF = {"support", "fraud_analyst", "auditor", "admin"}
C, A = "{customer}", "{account}"
# (method, path, body, roles admitted)
ROUTES: list[tuple[str, str, dict[str, Any] | None, set[str]]] = [
    ("POST", "/admin/v1/customers", CUSTOMER_BODY, {"support", "admin"}),
    ("GET", f"/admin/v1/customers/{C}", None, ANY_STAFF),
    ("PUT", f"/admin/v1/customers/{C}/kyc-status", {"status": "VERIFIED"}, {"support", "admin"}),
    ("POST", f"/admin/v1/customers/{C}/accounts", {"account_type": "CHECKING", "currency": "GBP"}, {"admin"}),
    ("GET", f"/admin/v1/customers/{C}/accounts", None, ANY_STAFF),
    ("GET", f"/admin/v1/accounts/{A}", None, ANY_STAFF),
    ("POST", f"/admin/v1/accounts/{A}/freeze", {"reason": "fraud"}, {"support", "fraud_analyst", "admin"}),
    ("POST", f"/admin/v1/accounts/{A}/unfreeze", {"reason": "cleared"}, {"support", "fraud_analyst", "admin"}),
    ("POST", f"/admin/v1/accounts/{A}/close", {"reason": "request"}, {"support", "admin"}),
    ("PATCH", f"/admin/v1/accounts/{A}/limits", {"daily_limit_minor": 100}, {"admin"}),
    ("POST", f"/admin/v1/accounts/{A}/deposits", CASH, {"admin"}),
    ("POST", f"/admin/v1/accounts/{A}/withdrawals", CASH, {"admin"}),
    ("GET", "/admin/v1/customers?name=Ada", None, ANY_STAFF),
    ("GET", f"/admin/v1/customers/{C}/payments", None, ANY_STAFF),
    ("GET", f"/admin/v1/customers/{C}/consents", None, ANY_STAFF),
    ("GET", f"/admin/v1/accounts/{A}/transactions", None, ANY_STAFF),
    ("GET", "/admin/v1/approvals", None, ANY_STAFF),
    ("POST", f"/admin/v1/approvals/{A}/rejection", {"reason": "no"}, {"support", "fraud_analyst", "admin"}),
]
COUNTED_TABLES = (
    "core_banking.customers",
    "core_banking.accounts",
    "core_banking.postings",
    "core_banking.idempotency_keys",
    "audit.audit_records",
    "platform.outbox_events",
    "platform.staff_approvals",
)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"type", "title", "status", "detail", "code", "correlation_id"}
    assert (body["status"], body["code"]) == (status, code)
    uuid.UUID(body["correlation_id"])
    return body


async def _row_counts(platform: Platform) -> dict[str, int]:
    async with platform.engine.connect() as connection:
        return {table: await count(connection, f"SELECT count(*) FROM {table}") for table in COUNTED_TABLES}


@pytest.mark.parametrize(("method", "path", "body", "roles"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
async def test_route_refuses_callers_without_a_staff_role_it_admits(
    app: FastAPI,
    client: httpx.AsyncClient,
    headers_for: HeadersFor,
    platform: Platform,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    roles: set[str],
) -> None:
    url = path.format(customer=uuid.uuid4(), account=uuid.uuid4())
    before = await _row_counts(platform)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    forger = InternalAssertions(ECKey.generate_key("P-256", private=True))
    principal = Principal(subject="staff-1", kind="staff", interaction_id="x", roles=frozenset({"admin"}))
    unauthenticated = [
        key,
        {**key, PRINCIPAL_HEADER: forger.sign(principal, "core_banking")},
        {**key, PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "audit")},
        {**key, PRINCIPAL_HEADER: "not-a-jwt"},
    ]
    for headers in unauthenticated:
        assert_problem(await client.request(method, url, json=body, headers=headers), 401, "unauthenticated")
    customer = headers_for("admin", kind="customer", subject="cust-1", **key)
    assert_problem(await client.request(method, url, json=body, headers=customer), 403, "forbidden")
    for role in sorted({"support", "fraud_analyst", "auditor", "admin", "teller"} - roles):
        headers = headers_for(role, **key)
        assert_problem(await client.request(method, url, json=body, headers=headers), 403, "insufficient_role")
    assert_problem(await client.request(method, url, json=body, headers=headers_for(**key)), 403, "insufficient_role")
    assert await _row_counts(platform) == before


@pytest.mark.parametrize(("method", "path", "body", "roles"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_the_gateway_admits_the_roles_the_route_admits(
    method: str, path: str, body: dict[str, Any] | None, roles: set[str]
) -> None:
    url = path.format(customer=uuid.uuid4(), account=uuid.uuid4()).split("?", 1)[0]
    policy = policy_for(method, url)
    assert (set(policy.roles), policy.audience) == (roles, "core_banking")


async def test_staff_run_the_account_lifecycle_and_each_change_is_audited_with_them(
    client: httpx.AsyncClient, headers_for: HeadersFor, platform: Platform
) -> None:
    support = headers_for("support", subject="staff-support")
    admin = headers_for("admin", subject="staff-admin")
    fraud = headers_for("fraud_analyst", subject="staff-fraud")
    auditor = headers_for("auditor", subject="staff-auditor")

    created = await client.post("/admin/v1/customers", json=CUSTOMER_BODY, headers=support)
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["kyc_status"] == "PENDING" and customer["national_id_masked"] == "******22D"
    customer_id = customer["id"]
    not_verified = await client.post(
        f"/admin/v1/customers/{customer_id}/accounts",
        json={"account_type": "CHECKING", "currency": "GBP"},
        headers=admin,
    )
    assert_problem(not_verified, 409, "kyc_not_verified")
    kyc = await client.put(
        f"/admin/v1/customers/{customer_id}/kyc-status", json={"status": "VERIFIED"}, headers=support
    )
    assert kyc.status_code == 200 and kyc.json()["kyc_status"] == "VERIFIED"
    opened = await client.post(
        f"/admin/v1/customers/{customer_id}/accounts",
        json={"account_type": "CHECKING", "currency": "GBP", "overdraft_limit_minor": 2_000},
        headers=admin,
    )
    assert opened.status_code == 201, opened.text
    account = opened.json()
    account_id = account["id"]
    assert account["sort_code"] == "04-00-75" and account["iban"].startswith("GB")

    deposited = await client.post(
        f"/admin/v1/accounts/{account_id}/deposits", json=CASH, headers={**admin, "Idempotency-Key": "dep-1"}
    )
    assert deposited.status_code == 201, deposited.text
    assert deposited.json()["balances"] == {
        "currency": "GBP",
        "booked_minor": 1_000,
        "available_minor": 3_000,
        "pending_minor": 0,
    }
    frozen = await client.post(f"/admin/v1/accounts/{account_id}/freeze", json={"reason": "alert 7"}, headers=fraud)
    assert frozen.status_code == 200 and frozen.json()["status"] == "FROZEN"
    refused = await client.post(
        f"/admin/v1/accounts/{account_id}/withdrawals", json=CASH, headers={**admin, "Idempotency-Key": "wd-1"}
    )
    assert_problem(refused, 409, "account_frozen")
    unfrozen = await client.post(f"/admin/v1/accounts/{account_id}/unfreeze", json={"reason": "ok"}, headers=fraud)
    assert unfrozen.json()["status"] == "ACTIVE"
    limits = await client.patch(
        f"/admin/v1/accounts/{account_id}/limits",
        json={"overdraft_limit_minor": 0, "daily_limit_minor": 5_000},
        headers=admin,
    )
    assert (limits.json()["overdraft_limit_minor"], limits.json()["daily_limit_minor"]) == (0, 5_000)
    withdrawn = await client.post(
        f"/admin/v1/accounts/{account_id}/withdrawals", json=CASH, headers={**admin, "Idempotency-Key": "wd-2"}
    )
    assert withdrawn.status_code == 201 and withdrawn.json()["balances"]["booked_minor"] == 0
    # Closing takes two staff members (four eyes): the admin asks, a colleague in support approves.
    held = await client.post(f"/admin/v1/accounts/{account_id}/close", json={"reason": "moving abroad"}, headers=admin)
    assert held.status_code == 202 and held.json()["approval"]["status"] == "PENDING"
    closed = await client.post(
        f"/admin/v1/accounts/{account_id}/close",
        json={"reason": "moving abroad"},
        headers={**support, "Obank-Approval-Id": held.json()["approval"]["id"]},
    )
    assert closed.status_code == 200 and closed.json()["status"] == "CLOSED"
    seen = await client.get(f"/admin/v1/accounts/{account_id}", headers=auditor)
    assert seen.json()["status"] == "CLOSED"
    listed = await client.get(f"/admin/v1/customers/{customer_id}/accounts", headers=auditor)
    assert [a["id"] for a in listed.json()] == [account_id]
    assert (await client.get(f"/admin/v1/customers/{customer_id}", headers=auditor)).json()["email"] == CUSTOMER_BODY[
        "email"
    ]

    async with platform.engine.connect() as connection:
        from sqlalchemy import text

        rows = await connection.execute(
            text(
                "SELECT action, actor_kind, actor_id FROM audit.audit_records"
                " WHERE entity_id IN (:c, :a) ORDER BY sequence"
            ),
            {"c": customer_id, "a": account_id},
        )
        assert [tuple(row) for row in rows] == [
            ("customer.created", "staff", "staff-support"),
            ("customer.kyc_status_changed", "staff", "staff-support"),
            ("account.opened", "staff", "staff-admin"),
            ("account.deposit", "staff", "staff-admin"),
            ("account.frozen", "staff", "staff-fraud"),
            ("account.unfrozen", "staff", "staff-fraud"),
            ("account.details_updated", "staff", "staff-admin"),
            ("account.withdrawal", "staff", "staff-admin"),
            ("account.closed", "staff", "staff-support"),
        ]
        events = await connection.execute(
            text("SELECT topic, event_type FROM platform.outbox_events WHERE key IN (:c, :a) ORDER BY position"),
            {"c": customer_id, "a": account_id},
        )
        assert [tuple(row) for row in events] == [
            ("core_banking.customers", "customer.created"),
            ("core_banking.customers", "customer.kyc_status_changed"),
            ("core_banking.accounts", "account.opened"),
            ("core_banking.ledger", "funds.deposited"),
            ("core_banking.accounts", "account.frozen"),
            ("core_banking.accounts", "account.unfrozen"),
            ("core_banking.accounts", "account.details_updated"),
            ("core_banking.ledger", "funds.withdrawn"),
            ("core_banking.accounts", "account.closed"),
        ]
        assert await ledger_problems(connection) == []


async def test_bad_input_is_a_4xx_problem_and_changes_nothing(
    client: httpx.AsyncClient, headers_for: HeadersFor, platform: Platform
) -> None:
    support, admin = headers_for("support"), headers_for("admin")
    customer_id = (await client.post("/admin/v1/customers", json=CUSTOMER_BODY, headers=support)).json()["id"]
    await client.put(f"/admin/v1/customers/{customer_id}/kyc-status", json={"status": "VERIFIED"}, headers=support)
    account_id = (
        await client.post(
            f"/admin/v1/customers/{customer_id}/accounts",
            json={"account_type": "CHECKING", "currency": "GBP"},
            headers=admin,
        )
    ).json()["id"]
    deposit = f"/admin/v1/accounts/{account_id}/deposits"
    await client.post(deposit, json=CASH, headers={**admin, "Idempotency-Key": "first"})
    before = await _row_counts(platform)

    invalid_bodies: list[Any] = [
        {**CASH, "amount_minor": 10.5},
        {**CASH, "amount_minor": -5},
        {**CASH, "amount_minor": 0},
        {**CASH, "amount_minor": "10"},
        {**CASH, "amount_minor": True},
        {**CASH, "currency": "gbp"},
        {**CASH, "currency": "ABC"},
        {**CASH, "description": ""},
        {**CASH, "unexpected": 1},
        {"currency": "GBP", "description": "x"},
        [1, 2],
    ]
    for number, body in enumerate(invalid_bodies):
        response = await client.post(deposit, json=body, headers={**admin, "Idempotency-Key": f"bad-{number}"})
        assert_problem(response, 422, "invalid_request")
    malformed = await client.post(
        deposit,
        content=b'{"amount_minor": ',
        headers={**admin, "Idempotency-Key": "m", "content-type": "application/json"},
    )
    assert_problem(malformed, 422, "invalid_request")
    assert_problem(await client.post(deposit, json=CASH, headers=admin), 422, "invalid_request")  # no Idempotency-Key
    assert_problem(await client.get("/admin/v1/accounts/not-a-uuid", headers=admin), 422, "invalid_request")
    assert_problem(
        await client.post("/admin/v1/customers", json={**CUSTOMER_BODY, "email": "nope"}, headers=support),
        422,
        "invalid_request",
    )
    assert_problem(
        await client.post(
            "/admin/v1/customers", json={**CUSTOMER_BODY, "date_of_birth": "2999-01-01"}, headers=support
        ),
        422,
        "invalid_request",
    )
    assert_problem(await client.get(f"/admin/v1/accounts/{uuid.uuid4()}", headers=admin), 404, "account_not_found")
    assert_problem(await client.get(f"/admin/v1/customers/{uuid.uuid4()}", headers=admin), 404, "customer_not_found")
    assert_problem(
        await client.patch(f"/admin/v1/accounts/{account_id}/limits", json={}, headers=admin), 422, "invalid_request"
    )
    assert_problem(await client.get("/admin/v1/nowhere", headers=admin), 404, "not_found")
    assert_problem(
        await client.post("/admin/v1/customers", json=CUSTOMER_BODY, headers=support), 409, "customer_email_taken"
    )
    assert await _row_counts(platform) == before

    # Refusals by the ledger: the request is answered (and its key remembered), no money moves.
    refusals = [
        (deposit, {**CASH, "currency": "EUR"}, 422, "currency_mismatch"),
        (f"/admin/v1/accounts/{uuid.uuid4()}/deposits", CASH, 404, "account_not_found"),
        (f"/admin/v1/accounts/{account_id}/withdrawals", {**CASH, "amount_minor": 1_001}, 422, "insufficient_funds"),
    ]
    for number, (url, body, status, code) in enumerate(refusals):
        assert_problem(
            await client.post(url, json=body, headers={**admin, "Idempotency-Key": f"r-{number}"}), status, code
        )
    after = await _row_counts(platform)
    assert after["core_banking.postings"] == before["core_banking.postings"]
    assert after["audit.audit_records"] == before["audit.audit_records"]
    assert after["platform.outbox_events"] == before["platform.outbox_events"]
    assert after["core_banking.idempotency_keys"] == before["core_banking.idempotency_keys"] + len(refusals)
    balance = (await client.get(f"/admin/v1/accounts/{account_id}", headers=admin)).json()["balances"]["booked_minor"]
    assert balance == 1_000


def test_openapi_documents_the_problem_responses(app: FastAPI) -> None:
    document = app.openapi()
    deposit = document["paths"]["/admin/v1/accounts/{account_id}/deposits"]["post"]
    assert deposit["responses"]["422"]["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
    assert "201" in deposit["responses"]
    assert {"Idempotency-Key"} <= {parameter["name"] for parameter in deposit["parameters"]}
    assert set(document["components"]["schemas"]["Problem"]["properties"]) == {
        "type",
        "title",
        "status",
        "detail",
        "code",
        "correlation_id",
    }
