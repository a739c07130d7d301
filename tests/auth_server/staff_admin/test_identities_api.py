"""`GET /admin/v1/identities[/{id}]`: a login found by customer or by username's keyed hash, nothing personal shown."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from audit.trail import platform_units
from auth_server.identities import service as identities
from auth_server.identities.schemas import IdentityKind, IdentityRecord
from obank.runtime import Platform
from tests.auth_server.helpers import TEST_ACTOR, enrol, new_login
from tests.auth_server.staff_admin.conftest import HeadersFor
from tests.auth_server.staff_admin.helpers import assert_problem

IDENTITIES = "/admin/v1/identities"


@pytest.mark.parametrize("role", ["support", "fraud_analyst", "auditor", "admin"])
async def test_every_investigating_role_finds_a_customers_login(
    api: httpx.AsyncClient,
    headers_for: HeadersFor,
    customer_login: IdentityRecord,
    platform: Platform,
    role: str,
) -> None:
    _, codes = await enrol(platform, customer_login)
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        await identities.record_successful_sign_in(uow, customer_login.id, now=datetime.now(UTC))

    response = await api.get(
        IDENTITIES, params={"customer_id": str(customer_login.customer_id)}, headers=headers_for(role)
    )

    assert response.status_code == 200, response.text
    (found,) = response.json()["identities"]
    assert found["id"] == str(customer_login.id)
    assert found["kind"] == "customer"
    assert found["customer_id"] == str(customer_login.customer_id)
    assert found["roles"] == []
    assert found["state"] == "active" and found["lock_reason"] is None and found["locked_until"] is None
    assert found["totp_enrolled"] is True
    assert found["recovery_codes_left"] == len(codes)
    assert datetime.fromisoformat(found["created_at"]) == customer_login.created_at
    assert found["last_sign_in_at"] is not None
    username = identities.username_of(platform.keyring, customer_login)
    assert username not in response.text and "username" not in found


async def test_a_username_finds_the_login_of_each_kind_holding_it_by_its_keyed_hash(
    api: httpx.AsyncClient, support: dict[str, str], platform: Platform
) -> None:
    customer = await new_login(platform, "Shared.Name@example.com")
    staff = await new_login(platform, "shared.name@example.com", kind=IdentityKind.STAFF)

    response = await api.get(IDENTITIES, params={"username": "  SHARED.name@Example.com "}, headers=support)

    assert response.status_code == 200, response.text
    found = {item["kind"]: item for item in response.json()["identities"]}
    assert found["customer"]["id"] == str(customer.id)
    assert found["staff"]["id"] == str(staff.id) and found["staff"]["roles"] == ["support"]
    assert found["customer"]["totp_enrolled"] is False and found["customer"]["recovery_codes_left"] == 0
    assert "shared.name" not in response.text.lower()


async def test_nothing_found_is_an_empty_list(api: httpx.AsyncClient, support: dict[str, str]) -> None:
    by_customer = await api.get(IDENTITIES, params={"customer_id": str(uuid.uuid4())}, headers=support)
    by_username = await api.get(IDENTITIES, params={"username": "nobody@example.com"}, headers=support)

    assert by_customer.status_code == 200 and by_customer.json() == {"identities": []}
    assert by_username.status_code == 200 and by_username.json() == {"identities": []}


async def test_one_login_by_id_shows_a_lock_after_failed_attempts(
    api: httpx.AsyncClient, support: dict[str, str], customer_login: IdentityRecord, platform: Platform
) -> None:
    now = datetime.now(UTC)
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        for _ in range(identities.LOCKOUT_THRESHOLD):
            locked_until = await identities.record_failed_factor(uow, customer_login.id, now=now)
    assert locked_until is not None

    response = await api.get(f"{IDENTITIES}/{customer_login.id}", headers=support)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"] == "locked" and body["lock_reason"] == "failed_attempts"
    assert datetime.fromisoformat(body["locked_until"]) == locked_until
    assert body["failed_login_attempts"] == identities.LOCKOUT_THRESHOLD


async def test_a_risk_lock_lasts_until_staff_unlock_it(
    api: httpx.AsyncClient, support: dict[str, str], customer_login: IdentityRecord, platform: Platform
) -> None:
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        await identities.lock_until_unlocked(uow, customer_login.id, now=datetime.now(UTC))

    body = (await api.get(f"{IDENTITIES}/{customer_login.id}", headers=support)).json()

    assert body["state"] == "locked" and body["lock_reason"] == "risk" and body["locked_until"] is None


async def test_unknown_and_malformed_ids(api: httpx.AsyncClient, support: dict[str, str]) -> None:
    assert_problem(await api.get(f"{IDENTITIES}/{uuid.uuid4()}", headers=support), 404, "identity_not_found")
    assert_problem(await api.get(f"{IDENTITIES}/not-a-uuid", headers=support), 422, "invalid_request")
    assert_problem(await api.get(IDENTITIES, params={"customer_id": "nope"}, headers=support), 422, "invalid_request")


@pytest.mark.parametrize(
    "params",
    [{}, {"customer_id": "6f1c1f5e-1d1b-4c1a-9a59-1b2f5b0f0e01", "username": "a@b.c"}, {"username": "x" * 321}],
    ids=["neither", "both", "too-long"],
)
async def test_a_lookup_names_exactly_one_of_customer_and_username(
    api: httpx.AsyncClient, support: dict[str, str], params: dict[str, str]
) -> None:
    assert_problem(await api.get(IDENTITIES, params=params, headers=support), 422, "invalid_request")


async def test_control_characters_in_the_query_are_refused(api: httpx.AsyncClient, support: dict[str, str]) -> None:
    response = await api.get(f"{IDENTITIES}?username=a%00b", headers=support)

    assert_problem(response, 422, "invalid_request")


async def test_customers_and_staff_without_a_reading_role_are_refused(
    api: httpx.AsyncClient, headers_for: HeadersFor, customer_login: IdentityRecord
) -> None:
    path = f"{IDENTITIES}/{customer_login.id}"

    as_customer = await api.get(path, headers=headers_for(kind="customer", subject=str(customer_login.customer_id)))
    as_teller = await api.get(path, headers=headers_for("teller"))
    unasserted = await api.get(path)

    assert_problem(as_customer, 403, "forbidden")
    assert_problem(as_teller, 403, "insufficient_role")
    assert_problem(unasserted, 401, "unauthenticated")
