"""The auditors' list of decryptions: who decrypted which record, when and why (reasons unsealed), newest first,
by staff member and record; other investigators are refused."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from obank.runtime import Platform
from tests.audit.investigations.conftest import BASE, HeadersFor, problem


async def listed(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"{BASE}/decryptions", params={k: str(v) for k, v in params.items()}, headers=headers)
    assert response.status_code == 200, response.text
    decryptions: list[dict[str, Any]] = response.json()
    return decryptions


async def test_auditors_read_who_decrypted_what_when_and_why(
    platform: Platform, client: httpx.AsyncClient, headers_for: HeadersFor, record_id: uuid.UUID
) -> None:
    made = []
    for staff, reason in (
        ("support-1", "Customer disputes a frozen account"),
        ("analyst-2", "Fraud case 77: account activity review"),
        ("support-1", "Follow-up call with the customer, ticket 9"),
    ):
        response = await client.post(
            f"{BASE}/records/{record_id}/decryption",
            json={"reason": reason},
            headers=headers_for("support", subject=staff),
        )
        assert response.status_code == 200, response.text
        made.append((response.json()["decryption_id"], staff, reason))

    auditor = headers_for("auditor", subject="auditor-1")
    everything = await listed(client, auditor)
    assert [(d["id"], d["staff_id"], d["reason"]) for d in everything] == list(reversed(made))  # newest first
    assert {d["record_id"] for d in everything} == {str(record_id)}
    assert [d["reason"] for d in await listed(client, auditor, staff_id="support-1")] == [made[2][2], made[0][2]]
    assert [d["id"] for d in await listed(client, auditor, limit=1)] == [made[2][0]]
    assert await listed(client, auditor, record_id=uuid.UUID("0c8b9a3e-2f5d-4e61-9a7b-1d2c3e4f5a6b")) == []
    older = await listed(client, auditor, before=everything[0]["decrypted_at"])
    assert [d["id"] for d in older] == [made[1][0], made[0][0]]
    assert len(await listed(client, headers_for("admin"), record_id=record_id)) == 3


@pytest.mark.parametrize("role", ["support", "fraud_analyst"])
async def test_other_investigators_are_refused(client: httpx.AsyncClient, headers_for: HeadersFor, role: str) -> None:
    refused = problem(await client.get(f"{BASE}/decryptions", headers=headers_for(role)), 403)
    assert refused["code"] == "insufficient_role"


async def test_customers_and_callers_without_an_assertion_are_refused(
    client: httpx.AsyncClient, headers_for: HeadersFor
) -> None:
    assert problem(await client.get(f"{BASE}/decryptions"), 401)["code"] == "unauthenticated"
    customer = headers_for("auditor", kind="customer", subject=str(uuid.uuid4()))
    assert problem(await client.get(f"{BASE}/decryptions", headers=customer), 403)["code"] == "forbidden"
