"""`POST /admin/v1/identities/{id}/unlock`: staff lift a lockout (failed attempts or a blocked risky sign-in)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx

from audit.trail import platform_units
from auth_server.identities import service as identities
from auth_server.identities.schemas import IdentityRecord
from obank.runtime import Platform
from tests.auth_server.helpers import TEST_ACTOR
from tests.auth_server.staff_admin.conftest import HeadersFor
from tests.auth_server.staff_admin.helpers import assert_problem, audit_records, audited_after, events

IDENTITIES = "/admin/v1/identities"
REASON = "Identity checked on a call-back to the number on file"


async def _lock_after_failures(platform: Platform, identity: IdentityRecord) -> None:
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        for _ in range(identities.LOCKOUT_THRESHOLD):
            await identities.record_failed_factor(uow, identity.id, now=datetime.now(UTC))


async def test_staff_lift_a_lock_after_failed_attempts(
    api: httpx.AsyncClient, headers_for: HeadersFor, customer_login: IdentityRecord, platform: Platform
) -> None:
    await _lock_after_failures(platform, customer_login)

    response = await api.post(
        f"{IDENTITIES}/{customer_login.id}/unlock", json={"reason": REASON}, headers=headers_for("support")
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"] == "active" and body["lock_reason"] is None and body["failed_login_attempts"] == 0
    (record,) = await audit_records(platform, "identity.unlocked", str(customer_login.id))
    assert (record.actor_kind, record.actor_id) == ("staff", "staff-1")
    after = await audited_after(platform, record)
    assert after["staff_reason"] == REASON
    assert after["before"]["failed_login_attempts"] == identities.LOCKOUT_THRESHOLD
    (event,) = await events(platform, "identity.unlocked", str(customer_login.id))
    assert REASON not in json.dumps(event.payload)


async def test_staff_lift_a_risk_lock(
    api: httpx.AsyncClient, headers_for: HeadersFor, customer_login: IdentityRecord, platform: Platform
) -> None:
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        await identities.lock_until_unlocked(uow, customer_login.id, now=datetime.now(UTC))

    response = await api.post(
        f"{IDENTITIES}/{customer_login.id}/unlock", json={"reason": REASON}, headers=headers_for("fraud_analyst")
    )

    assert response.status_code == 200, response.text
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        assert await identities.is_sign_in_allowed(uow.session, customer_login.id, now=datetime.now(UTC))


async def test_unlocking_a_login_not_locked_is_a_conflict_and_records_nothing(
    api: httpx.AsyncClient, support: dict[str, str], customer_login: IdentityRecord, platform: Platform
) -> None:
    response = await api.post(f"{IDENTITIES}/{customer_login.id}/unlock", json={"reason": REASON}, headers=support)

    assert_problem(response, 409, "identity_not_locked")
    assert await audit_records(platform, "identity.unlocked", str(customer_login.id)) == []


async def test_unknown_login_bad_reason_and_refused_callers(
    api: httpx.AsyncClient, headers_for: HeadersFor, customer_login: IdentityRecord, platform: Platform
) -> None:
    await _lock_after_failures(platform, customer_login)
    path = f"{IDENTITIES}/{customer_login.id}/unlock"

    unknown = await api.post(
        f"{IDENTITIES}/{uuid.uuid4()}/unlock", json={"reason": REASON}, headers=headers_for("admin")
    )
    nul = await api.post(path, json={"reason": "bad\u0000reason"}, headers=headers_for("admin"))
    too_long = await api.post(path, json={"reason": "r" * 501}, headers=headers_for("admin"))
    auditor = await api.post(path, json={"reason": REASON}, headers=headers_for("auditor"))
    customer = await api.post(
        path, json={"reason": REASON}, headers=headers_for(kind="customer", subject=str(customer_login.customer_id))
    )

    assert_problem(unknown, 404, "identity_not_found")
    assert_problem(nul, 422, "invalid_request")
    assert_problem(too_long, 422, "invalid_request")
    assert_problem(auditor, 403, "insufficient_role")
    assert_problem(customer, 403, "forbidden")
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        assert not await identities.is_sign_in_allowed(uow.session, customer_login.id, now=datetime.now(UTC))
