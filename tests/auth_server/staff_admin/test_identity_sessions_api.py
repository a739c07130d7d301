"""`GET /admin/v1/identities/{id}/sessions` and `POST .../sessions/revocation`: a login's live sessions, ended by staff
with a reason that only the sealed audit record keeps."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from auth_server.identities.schemas import IdentityRecord
from auth_server.sessions.schemas import SessionStage
from obank.runtime import Platform
from tests.auth_server.staff_admin.conftest import HeadersFor
from tests.auth_server.staff_admin.helpers import (
    assert_problem,
    audit_records,
    audited_after,
    events,
    live_session_ids,
    start_session,
)

IDENTITIES = "/admin/v1/identities"
REASON = "Customer reported a stolen laptop on the phone"


async def test_staff_list_a_logins_live_sessions_newest_first(
    api: httpx.AsyncClient, headers_for: HeadersFor, customer_login: IdentityRecord, platform: Platform
) -> None:
    older = await start_session(platform, customer_login.id)
    pending = await start_session(platform, customer_login.id, stage=SessionStage.AWAITING_OTP)

    response = await api.get(f"{IDENTITIES}/{customer_login.id}/sessions", headers=headers_for("auditor"))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["identity_id"] == str(customer_login.id)
    newest, oldest = body["sessions"]
    assert (newest["id"], oldest["id"]) == (str(pending.id), str(older.id))
    assert newest["stage"] == "awaiting_otp" and newest["acr"] is None and newest["authenticated_at"] is None
    assert oldest["stage"] == "authenticated" and oldest["acr"] == "urn:openbanking:psd2:sca"
    assert oldest["amr"] == ["pwd", "otp"]
    assert set(oldest) == {
        "id",
        "stage",
        "acr",
        "amr",
        "authenticated_at",
        "created_at",
        "last_seen_at",
        "expires_at",
    }


async def test_revoking_ends_every_session_and_audits_the_reason_sealed(
    api: httpx.AsyncClient, headers_for: HeadersFor, customer_login: IdentityRecord, platform: Platform
) -> None:
    for _ in range(2):
        await start_session(platform, customer_login.id)
    path = f"{IDENTITIES}/{customer_login.id}/sessions/revocation"

    response = await api.post(path, json={"reason": REASON}, headers=headers_for("fraud_analyst", subject="analyst-7"))
    again = await api.post(path, json={"reason": REASON}, headers=headers_for("fraud_analyst", subject="analyst-7"))

    assert response.status_code == 200, response.text
    assert response.json() == {"identity_id": str(customer_login.id), "sessions_ended": 2}
    assert again.json()["sessions_ended"] == 0
    assert await live_session_ids(platform, customer_login.id) == set()
    listed = await api.get(f"{IDENTITIES}/{customer_login.id}/sessions", headers=headers_for("support"))
    assert listed.json()["sessions"] == []
    first, _ = await audit_records(platform, "identity.sessions_revoked", str(customer_login.id))
    assert (first.actor_kind, first.actor_id, first.client_id) == ("staff", "analyst-7", "console")
    assert REASON not in first.action + first.entity_id
    after = await audited_after(platform, first)
    assert after["staff_reason"] == REASON and after["sessions_ended"] == 2
    (event, _) = await events(platform, "identity.sessions_revoked", str(customer_login.id))
    assert event.topic == "auth_server.security"
    assert event.payload["sessions_ended"] == 2 and event.payload["actor_id"] == "analyst-7"
    assert REASON not in json.dumps(event.payload)


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "ok\u0000then"},
        {"reason": "x" * 501},
        {"reason": "  a "},
        {},
        {"reason": REASON, "extra": 1},
        {"reason": 12345},
    ],
    ids=["nul-byte", "too-long", "too-short", "missing", "unknown-field", "not-text"],
)
async def test_a_bad_reason_is_refused_and_nothing_ends(
    api: httpx.AsyncClient,
    support: dict[str, str],
    customer_login: IdentityRecord,
    platform: Platform,
    body: dict[str, object],
) -> None:
    session = await start_session(platform, customer_login.id)

    response = await api.post(f"{IDENTITIES}/{customer_login.id}/sessions/revocation", json=body, headers=support)

    assert_problem(response, 422, "invalid_request")
    assert await live_session_ids(platform, customer_login.id) == {session.id}


async def test_a_malformed_body_is_a_problem(
    api: httpx.AsyncClient, support: dict[str, str], customer_login: IdentityRecord
) -> None:
    response = await api.post(
        f"{IDENTITIES}/{customer_login.id}/sessions/revocation",
        content=b'{"reason": ',
        headers={**support, "content-type": "application/json"},
    )

    assert_problem(response, 422, "invalid_request")


async def test_unknown_or_malformed_login(api: httpx.AsyncClient, support: dict[str, str]) -> None:
    body = {"reason": REASON}
    unknown = await api.post(f"{IDENTITIES}/{uuid.uuid4()}/sessions/revocation", json=body, headers=support)
    malformed = await api.post(f"{IDENTITIES}/42/sessions/revocation", json=body, headers=support)
    listed = await api.get(f"{IDENTITIES}/{uuid.uuid4()}/sessions", headers=support)

    assert_problem(unknown, 404, "identity_not_found")
    assert_problem(malformed, 422, "invalid_request")
    assert_problem(listed, 404, "identity_not_found")


async def test_auditors_and_customers_may_not_end_sessions(
    api: httpx.AsyncClient, headers_for: HeadersFor, customer_login: IdentityRecord, platform: Platform
) -> None:
    session = await start_session(platform, customer_login.id)
    path = f"{IDENTITIES}/{customer_login.id}/sessions/revocation"
    customer = headers_for(kind="customer", subject=str(customer_login.customer_id))

    as_auditor = await api.post(path, json={"reason": REASON}, headers=headers_for("auditor"))
    as_customer = await api.post(path, json={"reason": REASON}, headers=customer)
    reading_as_customer = await api.get(f"{IDENTITIES}/{customer_login.id}/sessions", headers=customer)

    assert_problem(as_auditor, 403, "insufficient_role")
    assert_problem(as_customer, 403, "forbidden")
    assert_problem(reading_as_customer, 403, "forbidden")
    assert await live_session_ids(platform, customer_login.id) == {session.id}
    assert await audit_records(platform, "identity.sessions_revoked", str(customer_login.id)) == []
