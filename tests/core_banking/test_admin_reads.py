"""Staff's customer-360 reads: an account's transactions (as its customer sees them), a customer's payments and
Open Banking consents; any staff role, problem+json for bad input."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from core_banking import facade
from core_banking.consents.schemas import AccountAccessDetails, Permission
from core_banking.ledger import service as ledger_service
from obank.claims import ACR_SCA
from obank.money import Money
from obank.principal import PRINCIPAL_HEADER, Principal
from obank.runtime import Platform
from obank.unit_of_work import UnitsOfWork
from tests.core_banking.conftest import CustomerHeadersFor, HeadersFor
from tests.core_banking.helpers import STAFF, new_account, new_customer

PAYEE = {"name": "Alan Turing", "sort_code": "40-05-15", "account_number": "76262352"}


def problem(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if code is not None:
        assert response.json()["code"] == code


async def test_staff_read_an_accounts_transactions_as_its_customer_does(
    client: httpx.AsyncClient,
    headers_for: HeadersFor,
    customer_headers: CustomerHeadersFor,
    platform: Platform,
    units: UnitsOfWork,
) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=10_000)
    async with units.begin(STAFF) as uow:
        for amount in (100, 200, 300):
            await ledger_service.withdraw(uow, account.id, Money(amount, "GBP"), description=f"Cash {amount}")
    staff_url = f"/admin/v1/accounts/{account.id}/transactions"
    own_url = f"/api/v1/accounts/{account.id}/transactions"
    auditor, owner = headers_for("auditor"), customer_headers(customer.id)

    for params in ({}, {"direction": "debit"}, {"direction": "credit"}, {"min_amount_minor": "200"}, {"limit": "2"}):
        seen = await client.get(staff_url, params=params, headers=auditor)
        assert seen.status_code == 200, seen.text
        own = await client.get(own_url, params=params, headers=owner)
        assert seen.json()["transactions"] == own.json()["transactions"]
    page = (await client.get(staff_url, params={"limit": 2}, headers=auditor)).json()
    assert [line["amount_minor"] for line in page["transactions"]] == [300, 200]
    rest = await client.get(staff_url, params={"limit": 2, "cursor": page["next_cursor"]}, headers=auditor)
    assert [line["amount_minor"] for line in rest.json()["transactions"]] == [100, 10_000]
    assert rest.json()["next_cursor"] is None

    problem(await client.get(f"/admin/v1/accounts/{uuid.uuid4()}/transactions", headers=auditor), 404)
    problem(await client.get("/admin/v1/accounts/not-a-uuid/transactions", headers=auditor), 422)
    problem(await client.get(staff_url, params={"cursor": "forged"}, headers=auditor), 400, "invalid_cursor")
    problem(await client.get(staff_url, params={"month": "2026-13"}, headers=auditor), 422)
    problem(await client.get(staff_url, params={"from_date": "3000-01-01"}, headers=auditor), 422)
    problem(
        await client.get(staff_url, params={"min_amount_minor": "10", "max_amount_minor": "5"}, headers=auditor), 422
    )
    problem(await client.get(staff_url, params={"min_amount_minor": str(10**30)}, headers=auditor), 422)
    problem(
        await client.get(staff_url, params={"from_date": "2026-02-02", "to_date": "2026-02-01"}, headers=auditor), 422
    )
    # The customer's own route still checks ownership; staff routes refuse customers.
    stranger = customer_headers(uuid.uuid4())
    problem(await client.get(own_url, headers=stranger), 404, "account_not_found")
    problem(await client.get(staff_url, headers=owner), 403, "forbidden")


def _strongly_authenticated(app: FastAPI, customer_id: uuid.UUID) -> dict[str, str]:
    principal = Principal(
        subject=str(customer_id),
        kind="customer",
        interaction_id="00000000-0000-4000-8000-000000000002",
        client_id="obank-web",
        scopes=frozenset({"accounts", "payments"}),
        acr=ACR_SCA,
        auth_time=int(time.time()) - 10,
    )
    return {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "core_banking")}


async def test_staff_read_a_customers_payments_newest_first(
    app: FastAPI,
    client: httpx.AsyncClient,
    headers_for: HeadersFor,
    customer_headers: CustomerHeadersFor,
    platform: Platform,
) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=50_000)
    payer = _strongly_authenticated(app, customer.id)
    made: list[dict[str, Any]] = []
    for amount in (1_000, 2_000):
        body = {"debtor_account_id": str(account.id), "amount_minor": amount, "currency": "GBP", "payee": PAYEE}
        response = await client.post(
            "/api/v1/payments", json=body, headers={**payer, "Idempotency-Key": uuid.uuid4().hex}
        )
        assert response.status_code == 202, response.text
        made.append(response.json())
    support = headers_for("support")
    url = f"/admin/v1/customers/{customer.id}/payments"

    seen = await client.get(url, headers=support)
    assert seen.status_code == 200, seen.text
    assert [p["id"] for p in seen.json()] == [made[1]["id"], made[0]["id"]]
    own = await client.get("/api/v1/payments", headers=customer_headers(customer.id))
    assert seen.json() == own.json()
    first_page = await client.get(url, params={"limit": 1}, headers=support)
    assert [p["id"] for p in first_page.json()] == [made[1]["id"]]
    older = await client.get(url, params={"before": first_page.json()[0]["created_at"]}, headers=support)
    assert [p["id"] for p in older.json()] == [made[0]["id"]]
    other = await new_customer(platform.sessions, platform.keyring)
    assert (await client.get(f"/admin/v1/customers/{other.id}/payments", headers=support)).json() == []

    problem(
        await client.get(f"/admin/v1/customers/{uuid.uuid4()}/payments", headers=support), 404, "customer_not_found"
    )
    problem(await client.get(url, params={"limit": 0}, headers=support), 422)
    problem(await client.get(url, params={"limit": 101}, headers=support), 422)
    problem(await client.get(url, params={"before": "not-a-time"}, headers=support), 422)
    problem(await client.get(url, params={"before": "2026-01-01T00:00:00"}, headers=support), 422)  # no offset
    problem(await client.get(url, params={"before": "9999-01-01T00:00:00Z"}, headers=support), 422)


async def test_staff_read_a_customers_consents(
    client: httpx.AsyncClient, headers_for: HeadersFor, platform: Platform
) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id)
    core = facade.InProcessCoreBanking(platform.sessions, platform.keyring)
    expiry = datetime.now(UTC).replace(microsecond=0) + timedelta(days=90)
    details = AccountAccessDetails(permissions=(Permission.READ_ACCOUNTS_DETAIL,), expires_at=expiry)
    older = await core.create_account_access_consent("tpp-one", details)
    await core.authorise_consent(older.id, customer_id=customer.id, account_ids=[account.id])
    newer = await core.create_account_access_consent("tpp-two", details)
    await core.authorise_consent(newer.id, customer_id=customer.id, account_ids=[account.id])
    await core.revoke_consent(older.id, customer_id=customer.id)
    await core.create_account_access_consent("tpp-three", details)  # not authorised: nobody's yet
    fraud = headers_for("fraud_analyst")
    url = f"/admin/v1/customers/{customer.id}/consents"

    seen = await client.get(url, headers=fraud)
    assert seen.status_code == 200, seen.text
    assert [
        (c["id"], c["kind"], c["client_id"], c["status"], c["account_ids"], c["revoked_by"]) for c in seen.json()
    ] == [
        (newer.id, "ACCOUNT_ACCESS", "tpp-two", "Authorised", [str(account.id)], None),
        (older.id, "ACCOUNT_ACCESS", "tpp-one", "Revoked", [str(account.id)], "customer"),
    ]
    assert datetime.fromisoformat(seen.json()[0]["expires_at"]) == expiry
    limited = await client.get(url, params={"limit": 1}, headers=fraud)
    assert [c["id"] for c in limited.json()] == [newer.id]
    before = await client.get(url, params={"before": limited.json()[0]["created_at"]}, headers=fraud)
    assert [c["id"] for c in before.json()] == [older.id]

    problem(await client.get(f"/admin/v1/customers/{uuid.uuid4()}/consents", headers=fraud), 404, "customer_not_found")
    problem(await client.get("/admin/v1/customers/nope/consents", headers=fraud), 422)
    problem(await client.get(url, params={"limit": 201}, headers=fraud), 422)
