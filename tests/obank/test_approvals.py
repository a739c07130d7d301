"""Four-eyes approvals over core banking's app: the maker's call is held (202), a second staff member's same call
with `Obank-Approval-Id` runs it and approves in one transaction; self-approval, mismatches, rejections,
withdrawals and expiry are refused; every request and decision is audited and published."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from core_banking.app import create_app
from obank.principal import PRINCIPAL_HEADER, Principal
from obank.runtime import Platform
from tests.core_banking.helpers import account, new_account, new_customer

MAKER, CHECKER, OTHER = "staff-maker", "staff-checker", "staff-other"
CLOSE = {"reason": "customer moving abroad"}


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    return create_app(platform)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://core-banking") as http:
        yield http


def staff(app: FastAPI, subject: str, *roles: str, approval: uuid.UUID | str | None = None) -> dict[str, str]:
    principal = Principal(
        subject=subject,
        kind="staff",
        interaction_id="00000000-0000-4000-8000-000000000000",
        roles=frozenset(roles or ("support",)),
    )
    headers = {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "core_banking")}
    if approval is not None:
        headers["Obank-Approval-Id"] = str(approval)
    return headers


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


async def _account_id(platform: Platform, funded_minor: int = 0) -> uuid.UUID:
    customer = await new_customer(platform.sessions, platform.keyring)
    return (await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=funded_minor)).id


async def _request_close(client: httpx.AsyncClient, app: FastAPI, account_id: uuid.UUID) -> dict[str, Any]:
    response = await client.post(f"/admin/v1/accounts/{account_id}/close", json=CLOSE, headers=staff(app, MAKER))
    assert response.status_code == 202, response.text
    approval: dict[str, Any] = response.json()["approval"]
    return approval


async def _rows(platform: Platform, query: str, **params: Any) -> list[tuple[Any, ...]]:
    async with platform.engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(query), params)]


async def test_closing_needs_a_second_staff_member_and_both_commit_together(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform
) -> None:
    account_id = await _account_id(platform)
    approval = await _request_close(client, app, account_id)
    assert approval["status"] == "PENDING"
    assert (approval["kind"], approval["target"], approval["method"], approval["path"]) == (
        "core_banking.account.close",
        str(account_id),
        "POST",
        f"/admin/v1/accounts/{account_id}/close",
    )
    assert (approval["params"], approval["requested_by"], approval["decided_by"]) == (CLOSE, MAKER, None)
    assert (await account(platform.sessions, account_id)).status.value == "ACTIVE"

    # The maker cannot be their own second pair of eyes: refused, nothing changes.
    own = await client.post(
        f"/admin/v1/accounts/{account_id}/close", json=CLOSE, headers=staff(app, MAKER, approval=approval["id"])
    )
    problem(own, 403, "self_approval_refused")
    assert (await account(platform.sessions, account_id)).status.value == "ACTIVE"
    read = await client.get(f"/admin/v1/approvals/{approval['id']}", headers=staff(app, OTHER, "auditor"))
    assert read.json()["status"] == "PENDING"

    closed = await client.post(
        f"/admin/v1/accounts/{account_id}/close",
        json=CLOSE,
        headers=staff(app, CHECKER, "admin", approval=approval["id"]),
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "CLOSED"
    decided = (await client.get(f"/admin/v1/approvals/{approval['id']}", headers=staff(app, OTHER, "auditor"))).json()
    assert (decided["status"], decided["decided_by"]) == ("APPROVED", CHECKER)
    assert decided["decided_at"] is not None

    # Decided once: it cannot be rejected afterwards (and the account, closed, refuses closing anyway).
    late = await client.post(
        f"/admin/v1/approvals/{approval['id']}/rejection", json={"reason": "too late"}, headers=staff(app, OTHER)
    )
    problem(late, 409, "approval_not_pending")
    again = await client.post(
        f"/admin/v1/accounts/{account_id}/close", json=CLOSE, headers=staff(app, OTHER, approval=approval["id"])
    )
    problem(again, 409, "invalid_status_transition")

    audited = await _rows(
        platform,
        "SELECT action, actor_id FROM audit.audit_records WHERE entity_id IN (:a, :p) ORDER BY sequence",
        a=str(account_id),
        p=approval["id"],
    )
    assert audited[-3:] == [
        ("approval.requested", MAKER),
        ("approval.approved", CHECKER),
        ("account.closed", CHECKER),
    ]
    events = await _rows(
        platform,
        "SELECT topic, event_type, payload->>'status' FROM platform.outbox_events WHERE key = :p ORDER BY position",
        p=approval["id"],
    )
    assert events == [
        ("platform.approvals", "approval.requested", "PENDING"),
        ("platform.approvals", "approval.decided", "APPROVED"),
    ]
    # The request body (free text) stays out of the events.
    payloads = await _rows(platform, "SELECT payload FROM platform.outbox_events WHERE key = :p", p=approval["id"])
    assert all("params" not in payload and CLOSE["reason"] not in str(payload) for (payload,) in payloads)


async def test_an_action_refused_when_approved_leaves_the_approval_pending(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform
) -> None:
    account_id = await _account_id(platform, funded_minor=500)
    approval = await _request_close(client, app, account_id)
    refused = await client.post(
        f"/admin/v1/accounts/{account_id}/close",
        json=CLOSE,
        headers=staff(app, CHECKER, "admin", approval=approval["id"]),
    )
    problem(refused, 409, "account_not_empty")
    read = await client.get(f"/admin/v1/approvals/{approval['id']}", headers=staff(app, CHECKER))
    assert (read.json()["status"], read.json()["decided_by"]) == ("PENDING", None)
    actions = await _rows(
        platform, "SELECT action FROM audit.audit_records WHERE entity_id = :p ORDER BY sequence", p=approval["id"]
    )
    assert actions == [("approval.requested",)]


async def test_an_approval_carries_out_only_the_request_it_was_asked_for(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform
) -> None:
    account_id, other_account = await _account_id(platform), await _account_id(platform)
    approval = await _request_close(client, app, account_id)
    checker = staff(app, CHECKER, "admin", approval=approval["id"])
    mismatches = [
        (f"/admin/v1/accounts/{account_id}/close", {"reason": "another reason"}, {}),
        (f"/admin/v1/accounts/{other_account}/close", CLOSE, {}),
        (
            f"/admin/v1/accounts/{account_id}/deposits",
            {"amount_minor": 1_000_000, "currency": "GBP", "description": "Counter"},
            {"Idempotency-Key": "dep-1"},
        ),
    ]
    for url, body, extra in mismatches:
        problem(await client.post(url, json=body, headers={**checker, **extra}), 409, "approval_mismatch")
    unknown = staff(app, CHECKER, "admin", approval=uuid.uuid4())
    problem(
        await client.post(f"/admin/v1/accounts/{account_id}/close", json=CLOSE, headers=unknown),
        404,
        "approval_not_found",
    )
    malformed = staff(app, CHECKER, "admin", approval="not-a-uuid")
    problem(
        await client.post(f"/admin/v1/accounts/{account_id}/close", json=CLOSE, headers=malformed),
        422,
        "invalid_request",
    )
    for checked in (account_id, other_account):
        assert (await account(platform.sessions, checked)).status.value == "ACTIVE"
    assert (await client.get(f"/admin/v1/approvals/{approval['id']}", headers=checker)).json()["status"] == "PENDING"


async def test_closing_an_unknown_or_closed_account_asks_for_no_approval(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform
) -> None:
    problem(
        await client.post(f"/admin/v1/accounts/{uuid.uuid4()}/close", json=CLOSE, headers=staff(app, MAKER)),
        404,
        "account_not_found",
    )
    assert await _rows(platform, "SELECT id FROM platform.staff_approvals") == []


async def test_another_staff_member_rejects_and_the_maker_withdraws(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform
) -> None:
    account_id = await _account_id(platform)
    rejected, withdrawn = await _request_close(client, app, account_id), await _request_close(client, app, account_id)

    response = await client.post(
        f"/admin/v1/approvals/{rejected['id']}/rejection",
        json={"reason": "the customer called back"},
        headers=staff(app, CHECKER, "fraud_analyst"),
    )
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["decided_by"]) == ("REJECTED", CHECKER)
    assert response.json()["decision_reason"] == "the customer called back"
    response = await client.post(
        f"/admin/v1/approvals/{withdrawn['id']}/rejection", json={"reason": "typed in error"}, headers=staff(app, MAKER)
    )
    assert (response.json()["status"], response.json()["decided_by"]) == ("WITHDRAWN", MAKER)

    for decided in (rejected, withdrawn):
        problem(
            await client.post(
                f"/admin/v1/accounts/{account_id}/close",
                json=CLOSE,
                headers=staff(app, CHECKER, "admin", approval=decided["id"]),
            ),
            409,
            "approval_not_pending",
        )
        problem(
            await client.post(
                f"/admin/v1/approvals/{decided['id']}/rejection", json={"reason": "again"}, headers=staff(app, OTHER)
            ),
            409,
            "approval_not_pending",
        )
    assert (await account(platform.sessions, account_id)).status.value == "ACTIVE"

    refusals = [
        (staff(app, OTHER, "auditor"), {"reason": "no"}, 403, "insufficient_role"),
        (staff(app, OTHER), {}, 422, "invalid_request"),
        (staff(app, OTHER), {"reason": "  "}, 422, "invalid_request"),
        (staff(app, OTHER), {"reason": "x", "extra": 1}, 422, "invalid_request"),
    ]
    pending = await _request_close(client, app, account_id)
    for headers, body, status, code in refusals:
        problem(
            await client.post(f"/admin/v1/approvals/{pending['id']}/rejection", json=body, headers=headers),
            status,
            code,
        )
    problem(
        await client.post(
            f"/admin/v1/approvals/{uuid.uuid4()}/rejection", json={"reason": "x"}, headers=staff(app, OTHER)
        ),
        404,
        "approval_not_found",
    )

    audited = await _rows(
        platform,
        "SELECT action, actor_id FROM audit.audit_records WHERE entity_id IN (:r, :w) ORDER BY sequence",
        r=rejected["id"],
        w=withdrawn["id"],
    )
    assert audited == [
        ("approval.requested", MAKER),
        ("approval.requested", MAKER),
        ("approval.rejected", CHECKER),
        ("approval.withdrawn", MAKER),
    ]
    events = await _rows(
        platform,
        "SELECT key, event_type, payload->>'status' FROM platform.outbox_events"
        " WHERE topic = 'platform.approvals' AND event_type = 'approval.decided' ORDER BY position",
    )
    assert events == [
        (rejected["id"], "approval.decided", "REJECTED"),
        (withdrawn["id"], "approval.decided", "WITHDRAWN"),
    ]


async def test_an_approval_expires_after_a_day(app: FastAPI, client: httpx.AsyncClient, platform: Platform) -> None:
    account_id = await _account_id(platform)
    approval = await _request_close(client, app, account_id)
    async with platform.engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE platform.staff_approvals SET requested_at = requested_at - :age, expires_at = expires_at - :age"
                " WHERE id = :id"
            ),
            {"age": timedelta(hours=24, seconds=1), "id": uuid.UUID(approval["id"])},
        )
    checker = staff(app, CHECKER, "admin", approval=approval["id"])
    problem(
        await client.post(f"/admin/v1/accounts/{account_id}/close", json=CLOSE, headers=checker),
        409,
        "approval_not_pending",
    )
    problem(
        await client.post(f"/admin/v1/approvals/{approval['id']}/rejection", json={"reason": "x"}, headers=checker),
        409,
        "approval_not_pending",
    )
    assert (await account(platform.sessions, account_id)).status.value == "ACTIVE"
    assert (await client.get(f"/admin/v1/approvals/{approval['id']}", headers=checker)).json()["status"] == "EXPIRED"
    listed = await client.get("/admin/v1/approvals", params={"status": "EXPIRED"}, headers=checker)
    assert [item["id"] for item in listed.json()] == [approval["id"]]
    assert (await client.get("/admin/v1/approvals", params={"status": "PENDING"}, headers=checker)).json() == []


async def test_staff_list_approvals_newest_first_by_status_and_kind(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform
) -> None:
    account_id = await _account_id(platform, funded_minor=0)
    first, second = await _request_close(client, app, account_id), await _request_close(client, app, account_id)
    cash = await client.post(
        f"/admin/v1/accounts/{account_id}/deposits",
        json={"amount_minor": 2_000_000, "currency": "GBP", "description": "Counter"},
        headers={**staff(app, MAKER, "admin"), "Idempotency-Key": "big"},
    )
    assert cash.status_code == 202, cash.text
    await client.post(
        f"/admin/v1/approvals/{first['id']}/rejection", json={"reason": "duplicate"}, headers=staff(app, CHECKER)
    )
    auditor = staff(app, OTHER, "auditor")

    async def ids(**params: Any) -> list[str]:
        response = await client.get("/admin/v1/approvals", params=params, headers=auditor)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()]

    cash_id = cash.json()["approval"]["id"]
    assert await ids() == [cash_id, second["id"], first["id"]]
    assert await ids(status="PENDING") == [cash_id, second["id"]]
    assert await ids(status="REJECTED") == [first["id"]]
    assert await ids(kind="core_banking.account.close") == [second["id"], first["id"]]
    assert await ids(kind="core_banking.cash.adjustment", status="PENDING") == [cash_id]
    assert await ids(limit=1) == [cash_id]
    newest = (await client.get("/admin/v1/approvals", params={"limit": 1}, headers=auditor)).json()[0]
    assert await ids(before=newest["requested_at"]) == [second["id"], first["id"]]

    for params in ({"status": "MAYBE"}, {"limit": 0}, {"limit": 10_000}, {"before": "3000-01-01T00:00:00Z"}):
        problem(await client.get("/admin/v1/approvals", params=params, headers=auditor), 422, "invalid_request")
    problem(await client.get("/admin/v1/approvals/not-a-uuid", headers=auditor), 422, "invalid_request")
    problem(await client.get(f"/admin/v1/approvals/{uuid.uuid4()}", headers=auditor), 404, "approval_not_found")
    customer = Principal(subject=str(uuid.uuid4()), kind="customer", interaction_id="x")
    as_customer = {PRINCIPAL_HEADER: app.state.internal_assertions.sign(customer, "core_banking")}
    problem(await client.get("/admin/v1/approvals", headers=as_customer), 403, "forbidden")


def test_openapi_documents_the_held_answer_and_the_header(app: FastAPI) -> None:
    document = app.openapi()
    for path in (
        "/admin/v1/accounts/{account_id}/close",
        "/admin/v1/accounts/{account_id}/deposits",
        "/admin/v1/accounts/{account_id}/withdrawals",
    ):
        operation = document["paths"][path]["post"]
        assert operation["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/ApprovalPending"
        )
        assert {"403", "404", "409"} <= set(operation["responses"])
        assert "Obank-Approval-Id" in {parameter["name"] for parameter in operation["parameters"]}
    assert {
        "/admin/v1/approvals",
        "/admin/v1/approvals/{approval_id}",
        "/admin/v1/approvals/{approval_id}/rejection",
    } <= set(document["paths"])
