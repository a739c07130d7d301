"""Decrypting a record: its changes as stored and its metadata, for investigators who state a reason; the decryption
(reason sealed) and its own audit record and event are written in the one transaction, or nothing is."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from audit import decrypt_record
from obank.database import unit_of_work
from obank.runtime import Platform
from obank.unit_of_work import UnitsOfWork
from tests.audit.investigations.conftest import AFTER, BASE, BEFORE, HeadersFor, Story, problem, rows

REASON = "Customer called about a frozen account, case 4411"
_DECRYPTED = "SELECT * FROM audit.audit_records WHERE action = 'audit_record.decrypted' AND entity_id = :e"


async def decrypt(
    client: httpx.AsyncClient, headers: dict[str, str], record_id: uuid.UUID | str, reason: str = REASON
) -> httpx.Response:
    return await client.post(f"{BASE}/records/{record_id}/decryption", json={"reason": reason}, headers=headers)


async def opened(platform: Platform, record_id: uuid.UUID) -> tuple[Any, Any]:
    async with unit_of_work(platform.sessions) as session:
        changes = await decrypt_record(session, platform.keyring, record_id)
    return changes.before, changes.after


async def test_a_decryption_answers_the_changes_and_records_who_when_and_why(
    platform: Platform, client: httpx.AsyncClient, headers_for: HeadersFor, record_id: uuid.UUID
) -> None:
    response = await decrypt(client, headers_for("support", subject="support-7"), record_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["before"], body["after"]) == (BEFORE, AFTER)
    assert body["record"] | {"occurred_at": None, "correlation_id": None, "chain": None, "sequence": None} == {
        "record_id": str(record_id),
        "chain": None,
        "sequence": None,
        "occurred_at": None,
        "correlation_id": None,
        "context": "account",
        "action": "account.frozen",
        "entity_type": "account",
        "entity_id": body["record"]["entity_id"],
        "actor_kind": "staff",
        "actor_id": "support-9",
        "client_id": None,
        "session_id": None,
    }
    assert body["decrypted_by"] == "support-7"

    (decryption,) = await rows(platform, "SELECT d, d::text AS text FROM audit.decryptions d")
    row = (await rows(platform, "SELECT * FROM audit.decryptions"))[0]
    assert (row.id, row.record_id, row.staff_id) == (uuid.UUID(body["decryption_id"]), record_id, "support-7")
    assert "case 4411" not in decryption.text and b"case 4411" not in bytes(row.reason_sealed)  # sealed at rest

    (audited,) = await rows(platform, _DECRYPTED, e=str(record_id))
    assert (audited.actor_kind, audited.actor_id, audited.entity_type) == ("staff", "support-7", "audit_record")
    assert await opened(platform, audited.record_id) == (
        None,
        {
            "decryption_id": body["decryption_id"],
            "record_id": str(record_id),
            "staff_id": "support-7",
            "reason": REASON,
        },
    )
    (event,) = await rows(platform, "SELECT * FROM platform.outbox_events WHERE event_type = 'audit_record.decrypted'")
    assert (event.topic, event.key, event.correlation_id) == (
        "audit.decryptions",
        str(record_id),
        audited.correlation_id,
    )
    assert "reason" not in event.payload and REASON not in str(event.payload)


async def test_a_failure_after_the_decrypt_writes_nothing(
    platform: Platform, app: FastAPI, headers_for: HeadersFor, record_id: uuid.UUID
) -> None:
    async def failing_writer(*_: Any) -> None:
        raise RuntimeError("the audit chain is unavailable")

    units: UnitsOfWork = app.state.units
    # The writer runs at commit: after the record was opened and the decryption row inserted.
    app.state.units = UnitsOfWork(units.sessions, units.keyring, failing_writer)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # answered as a 500, then re-raised
    async with httpx.AsyncClient(transport=transport, base_url="http://audit") as failing:
        response = await decrypt(failing, headers_for("auditor"), record_id)
    assert problem(response, 500)["code"] == "internal_error"
    assert "Wilhelmina" not in response.text
    assert await rows(platform, "SELECT * FROM audit.decryptions") == []
    assert await rows(platform, _DECRYPTED, e=str(record_id)) == []
    assert await rows(platform, "SELECT * FROM platform.outbox_events WHERE topic = 'audit.decryptions'") == []


@pytest.mark.parametrize("role", ["support", "fraud_analyst", "auditor", "admin"])
async def test_every_investigator_may_decrypt(
    client: httpx.AsyncClient, headers_for: HeadersFor, record_id: uuid.UUID, role: str
) -> None:
    response = await decrypt(client, headers_for(role), record_id)
    assert response.status_code == 200 and response.json()["after"] == AFTER, response.text


async def test_others_are_refused_and_nothing_is_written(
    platform: Platform, client: httpx.AsyncClient, headers_for: HeadersFor, record_id: uuid.UUID
) -> None:
    assert problem(await decrypt(client, {}, record_id), 401)["code"] == "unauthenticated"
    assert problem(await decrypt(client, headers_for(), record_id), 403)["code"] == "insufficient_role"
    customer = headers_for(kind="customer", subject=str(uuid.uuid4()))
    assert problem(await decrypt(client, customer, record_id), 403)["code"] == "forbidden"
    assert await rows(platform, "SELECT * FROM audit.decryptions") == []


async def test_an_unknown_record_is_a_404(
    platform: Platform, client: httpx.AsyncClient, headers_for: HeadersFor
) -> None:
    refused = problem(await decrypt(client, headers_for("auditor"), "3d1f0a52-6a1e-4d55-8b0e-5c1f2a3b4c5d"), 404)
    assert refused["code"] == "audit_record_not_found"
    assert await rows(platform, "SELECT * FROM audit.decryptions") == []


async def test_a_decryptions_own_record_opens_for_auditors_only(
    platform: Platform, client: httpx.AsyncClient, headers_for: HeadersFor, record_id: uuid.UUID
) -> None:
    assert (await decrypt(client, headers_for("fraud_analyst", subject="analyst-3"), record_id)).status_code == 200
    (audited,) = await rows(platform, _DECRYPTED, e=str(record_id))
    for role in ("support", "fraud_analyst"):
        refused = problem(await decrypt(client, headers_for(role), audited.record_id), 403)
        assert refused["code"] == "insufficient_role"
    read = await decrypt(client, headers_for("auditor"), audited.record_id, "Quarterly review of decryptions")
    assert read.status_code == 200 and read.json()["after"]["reason"] == REASON, read.text


async def test_a_real_payment_record_decrypts_as_stored(
    platform: Platform, client: httpx.AsyncClient, headers_for: HeadersFor, story: Story
) -> None:
    (submitted,) = await rows(
        platform,
        "SELECT record_id FROM audit.audit_records WHERE action = 'payment.submitted' AND entity_id = :e",
        e=str(story.payment_id),
    )
    response = await decrypt(client, headers_for("fraud_analyst"), submitted.record_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["before"], body["after"]) == await opened(platform, submitted.record_id)
    assert body["record"]["correlation_id"] == story.payment and body["record"]["actor_id"] == str(story.customer_id)


async def test_the_decryption_shows_on_the_timeline_of_the_staff_request(
    platform: Platform, client: httpx.AsyncClient, headers_for: HeadersFor, record_id: uuid.UUID
) -> None:
    assert (await decrypt(client, headers_for("support"), record_id)).status_code == 200
    (audited,) = await rows(platform, _DECRYPTED, e=str(record_id))
    page = await client.get(
        f"{BASE}/timeline", params={"correlation_id": audited.correlation_id}, headers=headers_for("auditor")
    )
    assert [(e["kind"], e["action"]) for e in page.json()["entries"]] == [
        ("event", "audit_record.decrypted"),
        ("audit", "audit_record.decrypted"),
    ]
    assert REASON not in page.text
